using System.Globalization;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Bounds ClrMD work that a damaged dump can make endless: reading the static fields of a module's types asks the
/// runtime's data access library for each field in turn, as many as the type's (damaged) field counts say, and on some
/// damaged dumps that did not end in minutes (seen in the fuzz suite as an analysis stopped by Analysis:Timeout). The
/// work runs on a thread of its own and reports progress; when none comes for <see cref="StallLimit"/>, the dump is
/// refused as damaged and the stuck thread is left behind (ClrMD cannot be interrupted), the dump marked abandoned.
/// </summary>
internal static class ReaderStallGuard
{
    /// <summary>Longest time without progress: reading one type's fields takes milliseconds, even on a loaded machine.</summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(45);

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Runs <paramref name="work"/>, which calls the action it is given after each step, within the bound.</summary>
    /// <param name="dump">Marked abandoned when the work is left behind.</param>
    /// <param name="what">What the work reads, for the message.</param>
    /// <param name="work">The work; it calls the action it is given after each step.</param>
    /// <param name="time">Measures the time without progress (checked about once a second).</param>
    /// <param name="cancellationToken">Stops the wait (the work is left behind, as on a stall).</param>
    /// <exception cref="HeapDumpDamagedException">No step finished within <see cref="StallLimit"/>.</exception>
    public static void Run(DumpSession dump, string what, Action<Action> work, TimeProvider time, CancellationToken cancellationToken)
    {
        long steps = 0;
        var task = Task.Run(() => work(() => Interlocked.Increment(ref steps)), CancellationToken.None);
        var lastSteps = 0L;
        var lastProgress = time.GetTimestamp();
        try
        {
            // Not task.Wait: it would wrap the work's own exceptions, which GetResult below rethrows as they are.
            while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(PollInterval))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Interlocked.Read(ref steps) is var now && now != lastSteps)
                {
                    (lastSteps, lastProgress) = (now, time.GetTimestamp());
                }
                else if (time.GetElapsedTime(lastProgress) > StallLimit)
                {
                    throw new HeapDumpDamagedException(string.Create(CultureInfo.InvariantCulture,
                        $"the dump reader (ClrMD) made no progress for {StallLimit.TotalSeconds:0} s reading {what}: the runtime's structures in it are damaged (a list that does not end)"));
                }
            }
        }
        catch (Exception ex) when (ex is HeapDumpDamagedException or OperationCanceledException)
        {
            dump.Abandon();
            throw;
        }

        task.GetAwaiter().GetResult();
    }
}
