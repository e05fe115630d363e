using System.Diagnostics;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Waits for a condition that another process or thread makes true, checking it often and failing with what was
/// awaited (and the last value seen) when it does not come true in time. The deadline only guards against a hang: no
/// test asserts how long anything takes. The one way tests wait: never a sleep followed by an assertion.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout);

    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(condition, met => met, what, timeout);

    /// <summary>Reads a value until it satisfies <paramref name="condition"/>, and returns that value.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what, TimeSpan? timeout = null)
    {
        var started = Stopwatch.GetTimestamp();
        var limit = timeout ?? DefaultTimeout;
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                Assert.Fail(value is bool ? $"Timed out waiting for {what}." : $"Timed out waiting for {what}; last seen: {value}");
            }

            await Task.Delay(Interval);
        }
    }
}
