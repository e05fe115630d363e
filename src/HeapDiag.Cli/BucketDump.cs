using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Transfer;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using HeapDiag.Analysis;

namespace HeapDiag.Cli;

/// <summary>
/// A dump argument that names an object in a bucket, so a dump HeapDiag shipped can be analysed on a bigger machine without
/// copying it by hand: <c>s3://bucket/key</c> with the AWS SDK's credential chain (<c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>,
/// <c>AWS_PROFILE</c>, the instance or pod role), or <c>azblob://account/container/key</c> with <c>AZURE_STORAGE_CONNECTION_STRING</c>
/// when set, else <c>DefaultAzureCredential</c>. <c>--endpoint</c> points either at an S3-compatible server or at Azurite. The object
/// is downloaded (the SDK's parallel transfer) to a temporary file, <c>.zst</c> kept so <see cref="DumpInput"/> decompresses it, and
/// deleted on dispose.
/// </summary>
internal sealed class BucketDump : IDisposable
{
    private BucketDump(string path) => Path = path;

    /// <summary>The downloaded object.</summary>
    public string Path { get; }

    public static bool IsBucket(string argument) =>
        argument.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) || argument.StartsWith("azblob://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Downloads the object; a missing object, a refused credential or an unreachable endpoint is a <see cref="HeapDumpFormatException"/> naming it.</summary>
    public static BucketDump Download(string location, string? endpoint, CancellationToken cancellationToken)
    {
        var (scheme, parts) = (location[..location.IndexOf(':', StringComparison.Ordinal)].ToLowerInvariant(), location[(location.IndexOf("//", StringComparison.Ordinal) + 2)..].Split('/', 2));
        var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"heapdiag-{Guid.NewGuid():N}-{System.IO.Path.GetFileName(location)}");
        try
        {
            if (scheme == "s3" && parts is [{ Length: > 0 } bucket, { Length: > 0 } key])
            {
                using var client = S3Client(endpoint);
                using var transfers = new TransferUtility(client);
                transfers.DownloadAsync(new TransferUtilityDownloadRequest { BucketName = bucket, Key = key, FilePath = file }, cancellationToken).GetAwaiter().GetResult();
            }
            else if (scheme == "azblob" && parts is [{ Length: > 0 } account, var rest] && rest.Split('/', 2) is [{ Length: > 0 } container, { Length: > 0 } blob])
            {
                BlobClient(account, container, blob, endpoint).DownloadToAsync(file, cancellationToken).GetAwaiter().GetResult();
            }
            else
            {
                throw new HeapDumpFormatException($"'{location}' is not an object's address: use s3://bucket/key or azblob://account/container/key");
            }

            return new BucketDump(file);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or RequestFailedException or AuthenticationFailedException or HttpRequestException or IOException)
        {
            File.Delete(file);
            throw new HeapDumpFormatException($"{location} could not be downloaded: {ex.GetBaseException().Message.TrimEnd('.')}. Check the address, --endpoint, and the credentials the SDK finds", ex);
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    public void Dispose() => File.Delete(Path);

    /// <summary>Credentials from the SDK's chain; checksums only when required, which S3-compatible servers need.</summary>
    private static AmazonS3Client S3Client(string? endpoint)
    {
        var config = new AmazonS3Config { RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED, ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED };
        if (endpoint is not null)
        {
            (config.ServiceURL, config.ForcePathStyle, config.AuthenticationRegion) = (endpoint, true, Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1");
        }

        return new AmazonS3Client(config);
    }

    private static BlobClient BlobClient(string account, string container, string blob, string? endpoint)
    {
        var service = Environment.GetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING") is { Length: > 0 } connectionString
            ? new BlobServiceClient(connectionString)
            : new BlobServiceClient(new Uri(endpoint ?? $"https://{account}.blob.core.windows.net"), new DefaultAzureCredential());
        return service.GetBlobContainerClient(container).GetBlobClient(blob);
    }
}
