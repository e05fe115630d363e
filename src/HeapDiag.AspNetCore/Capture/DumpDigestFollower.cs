using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using HeapDiag.Analyzer;
using HeapDiag.AspNetCore.Analyzer;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>
/// Computes a dump's SHA-256, and its zstd form when the bucket stores zstd, while the runtime's dump writer writes it,
/// so the finished dump is not read a second time. The writer suspends every thread of this process while it writes, so
/// this runs in the analyzer process (<c>digest --follow</c>), which reads the file as it grows. Optional: where the
/// analyzer cannot start, or the follower fails, the store reads the finished dump once instead.
/// </summary>
internal sealed partial class DumpDigestFollower(AnalyzerHost host, ILogger<DumpDigestFollower> logger)
{
    // The follower holds one 1 MiB read buffer and zstd's buffers (its peak RSS is about 60 MB, the runtime included).
    // At 32 MB the GC ran all the time and the follower took 60 % longer, long enough to stretch createdump's time too.
    private const long GcHeapHardLimitBytes = 64L << 20;

    /// <summary>
    /// Starts following <paramref name="dumpPath"/> before the writer creates it, writing its zstd form to
    /// <paramref name="packedPath"/> when given; null when the follower cannot start.
    /// </summary>
    public FollowedDigest? Start(string dumpPath, string? packedPath, Func<AnalysisWorkspace> createWorkspace)
    {
        if (!host.IsAvailable)
        {
            return null;
        }

        var workspace = createWorkspace();
        try
        {
            string[] arguments = packedPath is null
                ? [AnalyzerProtocol.DigestCommand, "--follow", dumpPath]
                : [AnalyzerProtocol.DigestCommand, "--follow", dumpPath, "--zstd", packedPath];
            var start = host.StartInfo(workspace.File("digest.runtimeconfig.json"), GcHeapHardLimitBytes, arguments, workspace.DirectoryPath);
            var process = new Process { StartInfo = start };
            process.ErrorDataReceived += (_, line) =>
            {
                if (line.Data is { Length: > 0 } text)
                {
                    LogFollowerOutput(logger, text);
                }
            };
            process.Start();
            process.BeginErrorReadLine();
            return new FollowedDigest(process, workspace, logger);
        }
        catch (Exception ex) when (ex is Win32Exception or IOException or UnauthorizedAccessException)
        {
            LogFollowerFailed(logger, ex.Message);
            workspace.Dispose();
            return null;
        }
    }

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Digest follower: {Line}")]
    private static partial void LogFollowerOutput(ILogger logger, string line);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "The dump's digest is computed after it is written instead of while: {Reason}")]
    internal static partial void LogFollowerFailed(ILogger logger, string reason);
}

/// <summary>A running <c>digest --follow</c>; disposing it stops the process and deletes its workspace.</summary>
internal sealed class FollowedDigest(Process process, AnalysisWorkspace workspace, ILogger logger) : IDisposable
{
    // The follower hashes and compresses at well over 200 MB/s; far behind that it is stuck, and reading the dump again is faster.
    private const long SlowestBytesPerSecond = 50L << 20;

    /// <summary>
    /// Tells the follower the writer wrote <paramref name="length"/> bytes and returns their SHA-256, answered once the zstd
    /// form it was asked for is complete; or null when the follower failed or fell too far behind, and then the follower
    /// is stopped, so it no longer writes the zstd form the caller is about to make from the dump itself.
    /// </summary>
    public async Task<string?> FinishAsync(long length, TimeProvider time)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10 + (length / SlowestBytesPerSecond)), time);
        try
        {
            await process.StandardInput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"end {length}").AsMemory(), timeout.Token);
            await process.StandardInput.FlushAsync(timeout.Token);
            var answer = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (answer is ['s', 'h', 'a', '2', '5', '6', ' ', .. var hex] && hex.Length == 64)
            {
                return hex;
            }

            DumpDigestFollower.LogFollowerFailed(logger, $"it answered '{answer}' (exit code {(process.HasExited ? process.ExitCode : "none yet")}).");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            DumpDigestFollower.LogFollowerFailed(logger, ex is OperationCanceledException ? "no answer in time." : ex.Message);
        }

        Stop();
        return null;
    }

    public void Dispose()
    {
        Stop();
        process.Dispose();
        workspace.Dispose();
    }

    private void Stop()
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}
