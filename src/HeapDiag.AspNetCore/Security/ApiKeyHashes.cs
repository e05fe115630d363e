using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Security;

/// <summary>
/// The configured API keys as SHA-256 hashes: a presented key is hashed and compared, in constant time, with
/// every configured one, so no key string is kept or copied here and log lines can name a key by its hash.
/// </summary>
/// <remarks>
/// The keys themselves stay where the app's configuration keeps every setting — the configuration providers
/// (environment variables, appsettings) and <see cref="HeapDiagnosticsOptions.ApiKeys"/> — so a heap dump of this
/// process contains them, as it contains the app's other secrets. Heap dumps are secrets; treat them as such.
/// </remarks>
internal sealed class ApiKeyHashes
{
    private readonly byte[][] _hashes;

    public ApiKeyHashes(IOptions<HeapDiagnosticsOptions> options)
    {
        _hashes = [.. options.Value.ApiKeys.Where(key => !string.IsNullOrEmpty(key)).Select(Hash)];
    }

    public bool IsEmpty => _hashes.Length == 0;

    /// <summary>Returns a short fingerprint of the matching key (safe to log), or null when no key matches.</summary>
    public string? Match(string presentedKey)
    {
        var presented = Hash(presentedKey);
        string? fingerprint = null;

        // Every stored hash is compared, so the time taken does not tell which key (or none) matched.
        foreach (var hash in _hashes)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                fingerprint = Convert.ToHexStringLower(hash, 0, 4);
            }
        }

        return fingerprint;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
