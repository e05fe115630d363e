using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Security;

/// <summary>
/// Authenticates the <c>X-Api-Key</c> header. When the header is absent it defers to the app's own default
/// scheme (JWT, cookies, …), so the diagnostics policy can name this one scheme and still let the app's users in
/// by role. Challenges and forbids answer with ProblemDetails that say how to get access.
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyHashes keys,
    IAuthenticationSchemeProvider schemes,
    IOptions<HeapDiagnosticsOptions> diagnosticsOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "HeapDiagApiKey";
    public const string HeaderName = "X-Api-Key";

    private readonly ILogger _logger = loggerFactory.CreateLogger("HeapDiag.Security");

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeaderName, out var values))
        {
            var defaultScheme = await schemes.GetDefaultAuthenticateSchemeAsync();
            return defaultScheme is not null && defaultScheme.Name != Scheme.Name
                ? await Context.AuthenticateAsync(defaultScheme.Name)
                : AuthenticateResult.NoResult();
        }

        var fingerprint = values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? keys.Match(values[0]!) : null;
        if (fingerprint is null)
        {
            return AuthenticateResult.Fail("The X-Api-Key header does not hold a configured API key.");
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, $"api-key:{fingerprint}"), new Claim(ClaimTypes.Role, diagnosticsOptions.Value.Role)],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var authenticate = await HandleAuthenticateOnceSafeAsync();
        var reason = authenticate.Failure?.Message ?? "No credentials were sent.";
        LogDenied(_logger, Request.Method, Request.Path, "anonymous", StatusCodes.Status401Unauthorized, reason);

        Response.Headers.WWWAuthenticate = $"{HeaderName}";
        await Results.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Authentication required",
            detail: $"{reason} Send a configured key in the {HeaderName} header (HeapDiagnostics:ApiKeys), or sign in as a user with the '{diagnosticsOptions.Value.Role}' role.")
            .ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var caller = Context.User.Identity?.Name ?? "unnamed user";
        LogDenied(_logger, Request.Method, Request.Path, caller, StatusCodes.Status403Forbidden, "missing role");

        await Results.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "Forbidden",
            detail: $"'{caller}' is signed in but lacks the '{diagnosticsOptions.Value.Role}' role (HeapDiagnostics:Role). Grant the role, or use an API key in the {HeaderName} header.")
            .ExecuteAsync(Context);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Denied {Method} {Path} for {Caller}: {Status} ({Reason})")]
    private static partial void LogDenied(ILogger logger, string method, string path, string caller, int status, string reason);
}
