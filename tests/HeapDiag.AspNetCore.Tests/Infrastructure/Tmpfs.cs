using System.Diagnostics;
using System.Globalization;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A small tmpfs mounted on a temp directory: a real file system that fills up, so a write fails with ENOSPC. Needs
/// Linux, <c>mount</c> and the right to mount (root); <see cref="Unavailable"/> says what is missing. Unmounted and
/// removed on dispose.
/// </summary>
public sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => DirectoryPath = path;

    public string DirectoryPath { get; }

    /// <summary>Why no tmpfs can be mounted here, or null when one can (found by mounting one once).</summary>
    public static string? Unavailable { get; } = Probe();

    public static Tmpfs Mount(long sizeBytes)
    {
        var path = Directory.CreateTempSubdirectory("heapdiag-tmpfs-").FullName;
        if (Run("mount", "-t", "tmpfs", "-o", $"size={sizeBytes.ToString(CultureInfo.InvariantCulture)},mode=0700", "tmpfs", path) is { } error)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs failed: {error}");
        }

        return new Tmpfs(path);
    }

    public void Dispose()
    {
        Run("umount", DirectoryPath);
        Directory.Delete(DirectoryPath, recursive: true);
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "tmpfs is Linux only";
        }

        if (Programs.Find("mount") is null || Programs.Find("umount") is null)
        {
            return "mount and umount are not on PATH (apt-get install mount)";
        }

        try
        {
            using var probe = Mount(1 << 20);
            return null;
        }
        catch (InvalidOperationException ex)
        {
            return $"{ex.Message}; mounting one needs root (CAP_SYS_ADMIN)";
        }
    }

    /// <summary>Runs a program to its end; null when it succeeded, else the first line it wrote to stderr.</summary>
    private static string? Run(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"exit {process.ExitCode}: {error.Result.Split('\n')[0].Trim().TrimEnd('.')}";
    }
}

/// <summary>A fact that needs a tmpfs it can mount; skipped, naming what is missing, where none can be mounted.</summary>
public sealed class RequiresTmpfsFactAttribute : FactAttribute
{
    public RequiresTmpfsFactAttribute()
    {
        if (Tmpfs.Unavailable is { } missing)
        {
            Skip = $"Needs a tmpfs it can mount: {missing}. CI runs as root, where it can.";
        }
    }
}
