using HeapDiag.AspNetCore.Security;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Checks at start what would otherwise surface only when someone needs a dump: whether anyone can reach
/// the endpoints at all, and whether dumps can be written. Also removes what a crashed capture left. Warns; never
/// stops the app.
/// </summary>
internal sealed partial class HeapDiagnosticsStartupCheck(
    ApiKeyHashes keys,
    HeapDumpStore store,
    IOptions<HeapDiagnosticsOptions> options,
    ILogger<HeapDiagnosticsStartupCheck> logger) : IHostedService
{
    // Stopped with the app: the bucket check runs in the background, so a slow or hanging endpoint never holds start-up back.
    private readonly CancellationTokenSource _stopping = new();
    private Task _egressCheck = Task.CompletedTask;
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (keys.IsEmpty)
        {
            LogNoApiKey(logger, options.Value.RoutePrefix, options.Value.Role);
        }

        // A warning, not a crash: the app's own work matters more than its diagnostics.
        if (store.EnsureWritable() is { } problem)
        {
            LogDirectoryNotWritable(logger, problem);
        }
        else if (store.RemoveLeftovers() is > 0 and var removed)
        {
            LogLeftoversRemoved(logger, removed, store.DirectoryPath);
        }

        if (store.HasBucket)
        {
            _egressCheck = CheckEgressAsync(_stopping.Token);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Called twice when the app runs under WebApplicationFactory (the factory stops the host, and so does the app's
        // own app.Run() once it sees the stop): the second call finds the token source disposed, so it does nothing.
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _egressCheck.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    /// <summary>
    /// Wrong credentials or a missing bucket would otherwise show only when the first dump — perhaps the automatic
    /// one at 3 a.m. — fails to upload. A warning, not a crash: dumps are still written locally.
    /// </summary>
    private async Task CheckEgressAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            var state = await store.CheckAsync(cancellationToken);
            if (state.Ok)
            {
                LogEgressReady(logger, state.Target);
            }
            else
            {
                LogEgressUnusable(logger, state.Target, state.Problem ?? "unknown problem", state.Fix ?? string.Empty);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The app stopped first.
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning,
        Message = "HeapDiag: no API key is configured, so the endpoints under {RoutePrefix} answer 401/403 to everyone except users with the '{Role}' role. To enable access with curl, set HeapDiagnostics__ApiKeys__0 to a random key of at least 32 characters (openssl rand -hex 32).")]
    private static partial void LogNoApiKey(ILogger logger, string routePrefix, string role);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "HeapDiag: {Problem}. Heap dumps will fail until HeapDiagnostics:Storage:Directory points at a writable directory.")]
    private static partial void LogDirectoryNotWritable(ILogger logger, string problem);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "HeapDiag: removed {Count} unfinished dump file(s) left in {Directory} by an interrupted capture")]
    private static partial void LogLeftoversRemoved(ILogger logger, int count, string directory);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "HeapDiag: dumps cannot be shipped to {Target}: {Problem} {Fix} Dumps are still written to the local directory, and each failed upload is reported in the capture result and in /monitor.")]
    private static partial void LogEgressUnusable(ILogger logger, string target, string problem, string fix);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "HeapDiag: dumps will be shipped to {Target}")]
    private static partial void LogEgressReady(ILogger logger, string target);
}
