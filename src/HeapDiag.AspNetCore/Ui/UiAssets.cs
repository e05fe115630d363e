using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace HeapDiag.AspNetCore.Ui;

/// <summary>One file of the page as it is served: its bytes, content type and an entity tag for conditional requests.</summary>
internal sealed record UiAsset(string Name, byte[] Content, string ContentType, EntityTagHeaderValue ETag)
{
    public static UiAsset Create(string name, byte[] content) => new(
        name,
        content,
        ContentTypeOf(name),
        new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content), 0, 8)}\""));

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        var extension => throw new InvalidOperationException($"The page file '{name}' has an extension ({extension}) with no content type here; add it."),
    };
}

/// <summary>
/// The page's files, embedded in this assembly from <c>Ui/assets</c>: nothing is read from disk or fetched from a CDN,
/// so the page works air-gapped. Loaded once, when the routes are mapped (about 100 KB, kept for the app's life).
/// </summary>
internal sealed class UiAssets
{
    private const string ResourcePrefix = "HeapDiag.Ui/";
    private const string ShellName = "index.html";

    // The shell is written for the URL with a trailing slash; at "/ui" the same relative links need "ui/" in front.
    // Relative, not absolute, so the page also works behind a proxy that strips a path prefix.
    private const string ShellBase = "<base href=\"./\">";
    private const string ShellBaseWithoutSlash = "<base href=\"ui/\">";

    private UiAssets(UiAsset shellAtSlash, UiAsset shellWithoutSlash, IReadOnlyList<UiAsset> files)
    {
        ShellAtSlash = shellAtSlash;
        ShellWithoutSlash = shellWithoutSlash;
        Files = files;
    }

    /// <summary>The shell for <c>{prefix}/ui/</c>.</summary>
    public UiAsset ShellAtSlash { get; }

    /// <summary>The shell for <c>{prefix}/ui</c>: the same page with its base one segment deeper.</summary>
    public UiAsset ShellWithoutSlash { get; }

    /// <summary>Every other file: scripts, styles, the icon.</summary>
    public IReadOnlyList<UiAsset> Files { get; }

    public static UiAssets Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var files = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(name => UiAsset.Create(name[ResourcePrefix.Length..], Read(assembly, name)))
            .ToList();
        var shell = files.SingleOrDefault(file => file.Name == ShellName)
            ?? throw new InvalidOperationException($"The page's {ShellName} is not embedded in {assembly.GetName().Name}.");
        var text = Encoding.UTF8.GetString(shell.Content);
        if (!text.Contains(ShellBase, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The page's {ShellName} must contain {ShellBase}.");
        }

        var withoutSlash = UiAsset.Create(ShellName, Encoding.UTF8.GetBytes(text.Replace(ShellBase, ShellBaseWithoutSlash, StringComparison.Ordinal)));
        return new UiAssets(shell, withoutSlash, [.. files.Where(file => file != shell)]);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
