using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Storage;
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
/// The rules attributes cannot express: every API key long enough (without echoing it), and the bucket settings, which
/// matter only for the provider chosen in <c>Egress:Provider</c> — a half-filled section left for later must not stop
/// an app that keeps its dumps on disk.
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
        switch (egress.Provider)
        {
            case HeapDumpEgressProvider.S3:
                ValidateS3(egress.S3, failures);
                ValidatePrefix("S3", egress.S3, failures);
                break;
            case HeapDumpEgressProvider.AzureBlob:
                ValidateAzureBlob(egress.AzureBlob, failures);
                ValidatePrefix("AzureBlob", egress.AzureBlob, failures);
                break;
        }
    }

    private static void ValidateS3(S3EgressOptions s3, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(s3.Bucket))
        {
            failures.Add($"{Section}:Egress:S3:Bucket is empty; Egress:Provider is S3, so name an existing bucket (HeapDiagnostics__Egress__S3__Bucket=my-dumps), or set Egress:Provider to FileSystem.");
        }
        else if (!BucketName().IsMatch(s3.Bucket))
        {
            failures.Add($"{Section}:Egress:S3:Bucket is '{s3.Bucket}'; a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, for example 'heapdumps'.");
        }

        if (!string.IsNullOrWhiteSpace(s3.ServiceUrl) && !IsHttpUrl(s3.ServiceUrl))
        {
            failures.Add($"{Section}:Egress:S3:ServiceUrl is '{s3.ServiceUrl}'; it must be an absolute http:// or https:// URL of an S3-compatible server, for example 'http://minio:9000', or empty for AWS S3.");
        }

        if (!string.IsNullOrWhiteSpace(s3.Region) && !RegionName().IsMatch(s3.Region))
        {
            failures.Add($"{Section}:Egress:S3:Region is '{s3.Region}'; it must be a region name such as 'eu-west-1' (lower-case letters, digits and hyphens), or empty.");
        }
    }

    private static void ValidateAzureBlob(AzureBlobEgressOptions azure, List<string> failures)
    {
        const string Key = $"{Section}:Egress:AzureBlob";
        if (string.IsNullOrWhiteSpace(azure.ContainerName))
        {
            failures.Add($"{Key}:ContainerName is empty; Egress:Provider is AzureBlob, so name an existing container (HeapDiagnostics__Egress__AzureBlob__ContainerName=heapdumps), or set Egress:Provider to FileSystem.");
        }
        else if (!ContainerName().IsMatch(azure.ContainerName) || azure.ContainerName.Contains("--", StringComparison.Ordinal))
        {
            failures.Add($"{Key}:ContainerName is '{azure.ContainerName}'; a container name is 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit, for example 'heapdumps'.");
        }

        // Neither secret is ever echoed: a connection string holds the account key, a service URI may hold a SAS.
        var (hasConnectionString, hasServiceUri) = (!string.IsNullOrWhiteSpace(azure.ConnectionString), !string.IsNullOrWhiteSpace(azure.ServiceUri));
        if (hasConnectionString == hasServiceUri)
        {
            failures.Add($"{Key}: set exactly one of ConnectionString (a storage account connection string, kept in a secret) and ServiceUri (for example 'https://myaccount.blob.core.windows.net', with DefaultAzureCredential); {(hasConnectionString ? "both are set" : "neither is set")}.");
        }
        else if (hasServiceUri && !IsHttpUrl(azure.ServiceUri!))
        {
            failures.Add($"{Key}:ServiceUri is not an absolute http:// or https:// URL; it must be the account's blob endpoint, for example 'https://myaccount.blob.core.windows.net'.");
        }
        else if (hasServiceUri && new Uri(azure.ServiceUri!) is { Scheme: "http", Query.Length: <= 1 })
        {
            // The SDK sends bearer tokens only over TLS: DefaultAzureCredential cannot sign for an http:// endpoint.
            failures.Add($"{Key}:ServiceUri is an http:// URL without a SAS; DefaultAzureCredential's tokens are sent only over https://, so use the https:// endpoint, add a SAS to the URL, or set ConnectionString instead (Azurite: its development connection string).");
        }
        else if (hasConnectionString && AzureBlobDumpBucket.ConnectionStringProblem(azure.ConnectionString!) is { } problem)
        {
            failures.Add($"{Key}:ConnectionString is not a usable Azure Storage connection string ({problem}); copy it from the storage account's 'Access keys' page, for example 'DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=...;EndpointSuffix=core.windows.net'.");
        }
    }

    private static void ValidatePrefix(string provider, BucketEgressOptions bucket, List<string> failures)
    {
        if (bucket.Prefix is { Length: > 512 })
        {
            failures.Add($"{Section}:Egress:{provider}:Prefix is {bucket.Prefix.Length} characters long; keep it under 512 so object names stay within the 1024-character limit.");
        }
        else if (bucket.Prefix is { } prefix && (prefix.Any(char.IsControl) || prefix.Split('/').Any(segment => segment is "." or "..")))
        {
            failures.Add($"{Section}:Egress:{provider}:Prefix is '{prefix}'; it must not contain control characters or '.'/'..' segments, for example 'heapdumps/prod'.");
        }
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerName();

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex BucketName();

    [GeneratedRegex("^[a-z0-9-]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionName();
}
