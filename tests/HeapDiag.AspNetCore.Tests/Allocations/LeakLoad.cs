namespace HeapDiag.AspNetCore.Tests.Allocations;

/// <summary>
/// Keeps a SampleApi leak growing while a test samples it: calls the leak route again and again, and releases what
/// leaked every few calls so the app's memory stays bounded. Stops (and waits for the last call) on dispose.
/// </summary>
internal sealed class LeakLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private LeakLoad(HttpClient client, string pattern, int megabytes, int releaseEvery) =>
        _loop = Task.Run(() => LoopAsync(client, pattern, megabytes, releaseEvery, _stop.Token));

    /// <summary>Calls made so far.</summary>
    public int Calls { get; private set; }

    public static LeakLoad Start(HttpClient client, string pattern, int megabytes = 2, int releaseEvery = 10) => new(client, pattern, megabytes, releaseEvery);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task LoopAsync(HttpClient client, string pattern, int megabytes, int releaseEvery, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            (await client.PostAsync($"/leak/{pattern}?mb={megabytes}", null, cancellationToken)).Dispose();
            if (++Calls % releaseEvery == 0)
            {
                (await client.DeleteAsync("/leak", cancellationToken)).Dispose();
            }
        }
    }
}
