using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Ui;

/// <summary>
/// Serves the page at <c>{prefix}/ui</c> and <c>{prefix}/ui/</c> and its files at <c>{prefix}/ui/{file}</c>. These are
/// the only anonymous HeapDiag routes: the files hold no data, and everything the page shows it fetches from the
/// diagnostics routes, behind the policy, with the caller's key or cookie.
/// </summary>
internal static class UiEndpoints
{
    /// <summary>
    /// Scripts, styles and requests from this origin only, no inline script or style, no strings turned into HTML
    /// (Trusted Types), no framing: text from a dump (a type name, a string value) can never run or send anything.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'self'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

    public static void Map(IEndpointRouteBuilder routes)
    {
        var assets = UiAssets.Load();
        var ui = routes.MapGroup("/ui")
            .AllowAnonymous()
            .ExcludeFromDescription();

        // One pattern serves "/ui" and "/ui/" (routing ignores a trailing slash); relative links need to know which.
        ui.MapGet("/", (HttpContext http) =>
                Serve(http, http.Request.Path.Value?.EndsWith('/') == true ? assets.ShellAtSlash : assets.ShellWithoutSlash))
            .WithName("HeapDiagnostics.Ui");
        foreach (var file in assets.Files)
        {
            ui.MapGet($"/{file.Name}", (HttpContext http) => Serve(http, file));
        }
    }

    private static IResult Serve(HttpContext http, UiAsset asset)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";

        // Revalidated on every load (a cheap 304 by entity tag), so an upgraded app never runs yesterday's script.
        headers.CacheControl = "no-cache";
        return TypedResults.Bytes(asset.Content, asset.ContentType, entityTag: asset.ETag);
    }
}
