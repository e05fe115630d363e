using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>Makes the one container client from <c>Egress:AzureBlob</c>: the SDK's own retry policy, and no secret in anything it names.</summary>
internal static class AzureBlobClients
{
    /// <summary>
    /// With a connection string, its key or SAS signs; with <c>ServiceUri</c>, a SAS in its query does, else
    /// <paramref name="credential"/> (tests) or <c>DefaultAzureCredential</c> (managed or workload identity, environment, Azure CLI).
    /// </summary>
    public static BlobContainerClient Create(AzureBlobEgressOptions options, TokenCredential? credential)
    {
        var clientOptions = new BlobClientOptions
        {
            Retry =
            {
                Mode = RetryMode.Exponential,
                MaxRetries = Math.Max(0, options.MaxAttempts - 1),
                NetworkTimeout = options.RequestTimeout,
                Delay = TimeSpan.FromSeconds(0.5),
                MaxDelay = TimeSpan.FromSeconds(30),
            },
        };
        var service = !string.IsNullOrWhiteSpace(options.ConnectionString) ? new BlobServiceClient(options.ConnectionString, clientOptions)
            : new Uri(options.ServiceUri!) is { Query.Length: > 1 } sasUri ? new BlobServiceClient(sasUri, clientOptions)
            : new BlobServiceClient(new Uri(options.ServiceUri!), credential ?? new DefaultAzureCredential(), clientOptions);
        return service.GetBlobContainerClient(options.ContainerName);
    }

    /// <summary>The container's URL without any query, so a SAS never reaches a message or a log.</summary>
    public static string Endpoint(BlobContainerClient container) => container.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');

    /// <summary>Why the SDK cannot use a connection string, without repeating any of it; null when it can.</summary>
    public static string? ConnectionStringProblem(string connectionString)
    {
        try
        {
            _ = new BlobServiceClient(connectionString);
            return null;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's message may quote the string, which holds the account key.
            return "it has no usable combination of AccountName and AccountKey, SharedAccessSignature or BlobEndpoint";
        }
    }
}
