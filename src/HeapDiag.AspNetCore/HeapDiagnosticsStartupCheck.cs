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

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning,
        Message = "HeapDiag: no API key is configured, so the endpoints under {RoutePrefix} answer 401/403 to everyone except users with the '{Role}' role. To enable access with curl, set HeapDiagnostics__ApiKeys__0 to a random key of at least 32 characters (openssl rand -hex 32).")]
    private static partial void LogNoApiKey(ILogger logger, string routePrefix, string role);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "HeapDiag: {Problem}. Heap dumps will fail until HeapDiagnostics:Storage:Directory points at a writable directory.")]
    private static partial void LogDirectoryNotWritable(ILogger logger, string problem);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "HeapDiag: removed {Count} unfinished dump file(s) left in {Directory} by an interrupted capture")]
    private static partial void LogLeftoversRemoved(ILogger logger, int count, string directory);
}
