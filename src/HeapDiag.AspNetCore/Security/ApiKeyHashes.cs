using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Security;

/// <summary>
/// The configured API keys, kept only as SHA-256 hashes so a heap dump of this process does not hand
/// out the keys that download heap dumps. Comparison is constant-time.
/// </summary>
internal sealed class ApiKeyHashes
{
    private readonly byte[][] hashes;

    public ApiKeyHashes(IOptions<HeapDiagnosticsOptions> options)
    {
        hashes = [.. options.Value.ApiKeys.Where(key => !string.IsNullOrEmpty(key)).Select(Hash)];
    }

    public bool IsEmpty => hashes.Length == 0;

    /// <summary>Returns a short fingerprint of the matching key (safe to log), or null when no key matches.</summary>
    public string? Match(string presentedKey)
    {
        var presented = Hash(presentedKey);
        string? fingerprint = null;

        // Every stored hash is compared, so the time taken does not tell which key (or none) matched.
        foreach (var hash in hashes)
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
