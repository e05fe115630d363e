using HeapDiag.Analysis;
using ZstdSharp;

namespace HeapDiag.Cli;

/// <summary>
/// A dump argument as a file the analyzer can map. A <c>.zst</c> file (how HeapDiag keeps dumps in a bucket, and what
/// a download with <c>Accept-Encoding: zstd</c> saves) is decompressed to a temporary file next to it, on the same disk
/// the user chose for the dump, and that file is deleted when this is disposed. Every command's dump argument goes
/// through <see cref="Open"/>.
/// </summary>
internal sealed class DumpInput : IDisposable
{
    private readonly string? _temporary;

    private DumpInput(string path, string? temporary)
    {
        Path = path;
        _temporary = temporary;
    }

    /// <summary>The file to analyse.</summary>
    public string Path { get; }

    /// <summary>The dump at <paramref name="path"/>, decompressed first when it is zstd. A damaged zstd file is a <see cref="HeapDumpFormatException"/>.</summary>
    public static DumpInput Open(string path, CancellationToken cancellationToken)
    {
        if (!path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase))
        {
            return new DumpInput(path, null);
        }

        if (!File.Exists(path))
        {
            throw new HeapDumpFormatException($"file not found: {path}");
        }

        var temporary = $"{path[..^4]}.{Guid.NewGuid():N}.tmp";
        try
        {
            using var source = new DecompressionStream(File.OpenRead(path), checkEndOfStream: true, leaveOpen: false);
            using var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            source.CopyToAsync(target, 1 << 20, cancellationToken).GetAwaiter().GetResult();
            return new DumpInput(temporary, temporary);
        }
        catch (Exception ex) when (ex is ZstdException or EndOfStreamException or InvalidDataException)
        {
            File.Delete(temporary);
            throw new HeapDumpFormatException($"not a complete zstd file: {System.IO.Path.GetFileName(path)} ({ex.Message.TrimEnd('.')})", ex);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public void Dispose()
    {
        if (_temporary is not null)
        {
            File.Delete(_temporary);
        }
    }
}
