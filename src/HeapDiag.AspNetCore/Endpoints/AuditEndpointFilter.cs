using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// Logs every authorized call with who made it and how it ended. Denied calls are logged by the
/// authentication handler, which is where they stop. Only a key's fingerprint is ever logged, never the key.
/// </summary>
internal sealed partial class AuditEndpointFilter(ILogger<AuditEndpointFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var caller = http.User.Identity?.Name ?? "unnamed user";
        try
        {
            var result = await next(context);
            var status = ((result as INestedHttpResult)?.Result ?? result) is IStatusCodeHttpResult { StatusCode: { } code } ? code : StatusCodes.Status200OK;
            LogCall(logger, http.Request.Method, http.Request.Path, caller, status);
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, http.Request.Method, http.Request.Path, caller, ex);
            throw;
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "{Method} {Path} by {Caller}: {Status}")]
    private static partial void LogCall(ILogger logger, string method, string path, string caller, int status);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "{Method} {Path} by {Caller} failed")]
    private static partial void LogFailed(ILogger logger, string method, string path, string caller, Exception exception);
}
