using HeapDiag.AspNetCore.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Checks at start what would otherwise surface only when someone needs a dump: whether anyone can reach
/// the endpoints at all. Warns; never stops the app.
/// </summary>
internal sealed partial class HeapDiagnosticsStartupCheck(
    ApiKeyHashes keys,
    IOptions<HeapDiagnosticsOptions> options,
    ILogger<HeapDiagnosticsStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (keys.IsEmpty)
        {
            LogNoApiKey(logger, options.Value.RoutePrefix, options.Value.Role);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning,
        Message = "HeapDiag: no API key is configured, so the endpoints under {RoutePrefix} answer 401/403 to everyone except users with the '{Role}' role. To enable access with curl, set HeapDiagnostics__ApiKeys__0 to a random key of at least 32 characters (openssl rand -hex 32).")]
    private static partial void LogNoApiKey(ILogger logger, string routePrefix, string role);
}
