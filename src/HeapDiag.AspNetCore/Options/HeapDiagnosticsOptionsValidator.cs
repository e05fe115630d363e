using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Validates <see cref="HeapDiagnosticsOptions"/> and every section marked <c>[ValidateObjectMembers]</c> from their
/// DataAnnotations, at start-up: generated at build time, no reflection. Each message names the configuration key and
/// how to fix it, because the person reading it is usually editing an environment variable.
/// </summary>
[OptionsValidator]
internal sealed partial class HeapDiagnosticsOptionsValidator : IValidateOptions<HeapDiagnosticsOptions>;

/// <summary>
/// The rules attributes cannot express: every API key long enough (without echoing it), and the S3 settings, which
/// matter only when <c>Egress:Provider</c> is <c>S3</c> — a half-filled section left for later must not stop an app
/// that keeps its dumps on disk.
/// </summary>
internal sealed partial class HeapDiagnosticsRulesValidator : IValidateOptions<HeapDiagnosticsOptions>
{
    internal const int MinimumApiKeyLength = 32;
    private const string Section = HeapDiagnosticsOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, HeapDiagnosticsOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i] ?? string.Empty;
            if (key.Length < MinimumApiKeyLength)
            {
                // The key itself is never echoed: only its length.
                failures.Add($"{Section}:ApiKeys:{i} is {key.Length} characters long; API keys must be at least {MinimumApiKeyLength} characters. Generate one with 'openssl rand -hex 32'.");
            }
        }

        ValidateEgress(options.Egress, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateEgress(HeapDumpEgressOptions egress, List<string> failures)
    {
        if (egress.Provider != HeapDumpEgressProvider.S3)
        {
            return;
        }

        var s3 = egress.S3;
        if (string.IsNullOrWhiteSpace(s3.Bucket))
        {
            failures.Add($"{Section}:Egress:S3:Bucket is empty; Egress:Provider is S3, so name an existing bucket (HeapDiagnostics__Egress__S3__Bucket=my-dumps), or set Egress:Provider to FileSystem.");
        }
        else if (!BucketName().IsMatch(s3.Bucket))
        {
            failures.Add($"{Section}:Egress:S3:Bucket is '{s3.Bucket}'; a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, for example 'heapdumps'.");
        }

        if (!string.IsNullOrWhiteSpace(s3.ServiceUrl)
            && (!Uri.TryCreate(s3.ServiceUrl, UriKind.Absolute, out var serviceUrl) || (serviceUrl.Scheme != Uri.UriSchemeHttp && serviceUrl.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{Section}:Egress:S3:ServiceUrl is '{s3.ServiceUrl}'; it must be an absolute http:// or https:// URL of an S3-compatible server, for example 'http://minio:9000', or empty for AWS S3.");
        }

        if (!string.IsNullOrWhiteSpace(s3.Region) && !RegionName().IsMatch(s3.Region))
        {
            failures.Add($"{Section}:Egress:S3:Region is '{s3.Region}'; it must be a region name such as 'eu-west-1' (lower-case letters, digits and hyphens), or empty.");
        }

        if (s3.Prefix is { Length: > 512 })
        {
            failures.Add($"{Section}:Egress:S3:Prefix is {s3.Prefix.Length} characters long; keep it under 512 so object keys stay within S3's 1024-byte limit.");
        }
        else if (s3.Prefix is { } prefix && (prefix.Any(char.IsControl) || prefix.Split('/').Any(segment => segment is "." or "..")))
        {
            failures.Add($"{Section}:Egress:S3:Prefix is '{prefix}'; it must not contain control characters or '.'/'..' segments, for example 'heapdumps/prod'.");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex BucketName();

    [GeneratedRegex("^[a-z0-9-]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionName();
}
