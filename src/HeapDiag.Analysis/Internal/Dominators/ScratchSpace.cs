using System.Runtime.InteropServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// A private directory for the dominator pass's intermediate arrays: what it writes once and reads back once in
/// order (the graph the mark pass recorded, predecessor lists) goes to disk instead of memory, so the pass
/// needs only a few int arrays in memory at a time. Deleted with everything in it on dispose.
/// </summary>
internal sealed class ScratchSpace : IDisposable
{
    private int _arrays;

    private ScratchSpace(string path) => DirectoryPath = path;

    public string DirectoryPath { get; }

    /// <summary>
    /// Whether <see cref="CreateArray"/> puts arrays in memory-mapped files (the pass does not fit in the memory
    /// budget) or on the GC heap. Decided once the mark pass has counted the objects, before the first array.
    /// </summary>
    public bool MapsArrays { get; set; }

    /// <summary>Creates <c>heapdiag-scratch-*</c> under <paramref name="parent"/>, or under the temp directory when null.</summary>
    public static ScratchSpace Create(string? parent)
    {
        var root = parent ?? Path.GetTempPath();
        var path = Path.Combine(root, $"heapdiag-scratch-{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return new ScratchSpace(path);
    }

    /// <summary>Free bytes on the scratch directory's file system, or null when it cannot be told.</summary>
    public long? FreeBytes()
    {
        try
        {
            return new DriveInfo(DirectoryPath).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is a write that failed for want of disk space (ENOSPC on Linux and macOS,
    /// ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL on Windows): .NET keeps the system's error code as the HResult.
    /// </summary>
    public static bool IsFull(Exception exception) =>
        exception is IOException { HResult: 28 or unchecked((int)0x80070070) or unchecked((int)0x80070027) };

    public string PathOf(string name) => Path.Combine(DirectoryPath, name);

    public IntFileWriter CreateWriter(string name) => new(PathOf(name));

    /// <summary>A zeroed int array of <paramref name="length"/> items, mapped or in memory as <see cref="MapsArrays"/> says.</summary>
    public IntArray CreateArray(string name, long length)
    {
        var items = checked((int)length);
        return MapsArrays ? IntArray.Mapped(PathOf($"{name}.{++_arrays}.array"), items) : IntArray.InMemory(items);
    }

    /// <summary>Reads the whole file of ints <paramref name="name"/> into <paramref name="destination"/> from its start.</summary>
    public void ReadAll(string name, Span<int> destination)
    {
        using var handle = File.OpenHandle(PathOf(name));
        var bytes = MemoryMarshal.AsBytes(destination);
        long offset = 0;
        while (offset < bytes.Length)
        {
            var read = RandomAccess.Read(handle, bytes[(int)Math.Min(offset, int.MaxValue)..], offset);
            if (read <= 0)
            {
                throw new EndOfStreamException($"scratch file {name} is shorter than expected");
            }

            offset += read;
        }
    }

    /// <summary>Item <paramref name="index"/> of the file <paramref name="name"/>, a file of <typeparamref name="T"/> items.</summary>
    public T ReadAt<T>(string name, long index)
        where T : unmanaged
    {
        using var handle = File.OpenHandle(PathOf(name));
        Span<T> item = stackalloc T[1];
        var bytes = MemoryMarshal.AsBytes(item);
        if (RandomAccess.Read(handle, bytes, index * bytes.Length) != bytes.Length)
        {
            throw new EndOfStreamException($"scratch file {name} has no entry {index}");
        }

        return item[0];
    }

    public IntFileReader OpenReader(string name) => new(PathOf(name));

    public void Delete(string name) => File.Delete(PathOf(name));

    public void Dispose()
    {
        try
        {
            Directory.Delete(DirectoryPath, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
