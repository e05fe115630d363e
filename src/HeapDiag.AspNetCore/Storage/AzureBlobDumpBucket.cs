using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// The Azure Blob Storage tier: the SDK uploads and downloads files in parallel blocks (bounded memory) and retries
/// transient failures with its own policy (<see cref="AzureBlobClients"/>); what fails for good is a
/// <see cref="HeapDumpStoreException"/> with a fix (<see cref="AzureBlobErrors"/>).
/// </summary>
internal sealed class AzureBlobDumpBucket(
    BlobContainerClient container, IOptions<HeapDumpEgressOptions> options, ProcessInstance instance, TimeProvider time, IHostEnvironment? environment = null)
    : IDumpBucket
{
    // Azure metadata names must be C# identifiers: dump_number, size_bytes.
    private const char Separator = '_';
    private const int PartialContent = 206;

    private readonly AzureBlobEgressOptions _azure = options.Value.AzureBlob;
    private readonly BucketLayout _layout = new(options.Value.AzureBlob, instance, environment, options.Value.AppName);
    private readonly AzureBlobErrors _errors = new(options.Value.AzureBlob, AzureBlobClients.Endpoint(container));

    public string Provider => nameof(HeapDumpEgressProvider.AzureBlob);

    public string LocationName => "azureblob";

    public BucketEgressOptions Settings => _azure;

    public bool RedirectDownloads => _azure.SasDownloads;

    public string EndpointSetting => _errors.EndpointSetting;

    public string Target => $"{AzureBlobClients.Endpoint(container)}/{_layout.AppPrefix}";

    public BucketLayout Layout => _layout;

    public string Location(string key) => $"{AzureBlobClients.Endpoint(container)}/{key}";

    /// <summary>A connection string the SDK cannot use, in words that never repeat it; null when it is usable.</summary>
    public static string? ConnectionStringProblem(string connectionString) => AzureBlobClients.ConnectionStringProblem(connectionString);

    public async Task<string> UploadAsync(StoredHeapDump dump, string file, bool compressed, MemoryDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        var key = _layout.DumpKey(dump.Id, compressed);
        var upload = new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = compressed ? "application/zstd" : "application/octet-stream" },
            Metadata = _layout.Metadata(dump, diagnostics, Separator),
            TransferOptions = Transfers,
        };
        await CallAsync("Upload", key, c => container.GetBlobClient(key).UploadAsync(file, upload, c), cancellationToken);
        if (dump.DiagnosticsPath is { } diagnosticsPath && File.Exists(diagnosticsPath))
        {
            await PutDiagnosticsAsync(key, await File.ReadAllBytesAsync(diagnosticsPath, cancellationToken), cancellationToken);
        }

        return key;
    }

    public Task PutDiagnosticsAsync(string dumpKey, byte[] content, CancellationToken cancellationToken) =>
        PutAsync(BucketLayout.DiagnosticsKey(dumpKey), content, "application/json", cancellationToken);

    public Task PutAsync(string key, byte[] content, string contentType, CancellationToken cancellationToken)
    {
        var upload = new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } };
        return CallAsync("Upload", key, c => container.GetBlobClient(key).UploadAsync(BinaryData.FromBytes(content), upload, c), cancellationToken);
    }

    public async Task<IReadOnlyList<RemoteHeapDump>> ListAsync(CancellationToken cancellationToken) =>
        _layout.Catalog((await ListObjectsAsync(_layout.AppPrefix, cancellationToken)).Objects);

    public Task<BucketListing> ListObjectsAsync(string prefix, CancellationToken cancellationToken) => CallAsync("Listing", prefix, async c =>
    {
        var (objects, pages) = (new Dictionary<string, long>(StringComparer.Ordinal), 0);
        await foreach (var page in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, c).AsPages())
        {
            pages++;
            foreach (var item in page.Values.Take(BucketLayout.MaxListedObjects - objects.Count))
            {
                objects[item.Name] = item.Properties.ContentLength ?? 0;
            }

            if (objects.Count >= BucketLayout.MaxListedObjects)
            {
                break;
            }
        }

        return new BucketListing(objects, Math.Max(pages, 1));
    }, cancellationToken);

    public async Task<RemoteHeapDump> DescribeAsync(RemoteHeapDump dump, CancellationToken cancellationToken)
    {
        var properties = await CallAsync("Reading the metadata", dump.Key, c => container.GetBlobClient(dump.Key).GetPropertiesAsync(cancellationToken: c), cancellationToken);
        var metadata = properties.Value.Metadata;
        return dump with
        {
            SizeBytes = BucketLayout.SizeOf(metadata, Separator) ?? (dump.Compressed ? null : dump.StoredBytes),
            Sha256 = metadata.TryGetValue(BucketLayout.Sha256Metadata, out var sha256) ? sha256 : null,
        };
    }

    public async Task<OpenedDump?> OpenAsync(RemoteHeapDump dump, (long? From, long? To)? range, CancellationToken cancellationToken)
    {
        var download = new BlobDownloadOptions { Range = range is { } requested ? ToHttpRange(requested, dump.StoredBytes) : default };
        var response = await CallAsync("Download", dump.Key, c => container.GetBlobClient(dump.Key).DownloadStreamingAsync(download, c), cancellationToken);
        if (response is null)
        {
            return null;
        }

        var details = response.Value.Details;
        return new OpenedDump(
            response.Value.Content,
            dump.Compressed,
            details.ContentLength,
            details.Metadata.TryGetValue(BucketLayout.Sha256Metadata, out var sha256) ? sha256 : null,
            details.LastModified,
            response.GetRawResponse().Status == PartialContent ? details.ContentRange : null,
            BucketLayout.SizeOf(details.Metadata, Separator));
    }

    public Task<byte[]?> ReadAsync(string key, CancellationToken cancellationToken) => CallAsync("Download", key, async c =>
    {
        var content = await container.GetBlobClient(key).DownloadContentAsync(c);
        return (byte[]?)content.Value.Content.ToArray();
    }, cancellationToken);

    public Task DownloadAsync(string key, string file, CancellationToken cancellationToken) =>
        CallAsync("Download", key, c => container.GetBlobClient(key).DownloadToAsync(file, new BlobDownloadToOptions { TransferOptions = Transfers }, c), cancellationToken);

    /// <summary>
    /// A read-only SAS for the one blob, offering it as a file download: signed with the account key when the client has
    /// one (connection string), else with a user delegation key the identity asks for (DefaultAzureCredential).
    /// </summary>
    public Task<Uri> CreateDownloadUrlAsync(RemoteHeapDump dump, CancellationToken cancellationToken) => CallAsync("Signing a download URL for", dump.Key, async c =>
    {
        var blob = container.GetBlobClient(dump.Key);
        var expires = time.GetUtcNow().Add(_azure.DownloadUrlLifetime);
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, expires)
        {
            BlobContainerName = container.Name,
            BlobName = dump.Key,
            Resource = "b",
            ContentDisposition = $"attachment; filename=\"{BucketLayout.FileName(dump.Key)}\"",
        };
        if (blob.CanGenerateSasUri)
        {
            return blob.GenerateSasUri(sas);
        }

        var service = container.GetParentBlobServiceClient();
        var key = await service.GetUserDelegationKeyAsync(new BlobGetUserDelegationKeyOptions(expires) { StartsOn = time.GetUtcNow().AddMinutes(-5) }, c);
        return new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(key.Value, service.AccountName) }.ToUri();
    }, cancellationToken);

    public Task DeleteAsync(RemoteHeapDump dump, CancellationToken cancellationToken) =>
        Task.WhenAll(BucketLayout.ObjectsOf(dump).Select(key =>
            CallAsync("Delete", key, c => container.GetBlobClient(key).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: c), cancellationToken)));

    /// <summary>Lists one page of at most one blob.</summary>
    public Task CheckAsync(CancellationToken cancellationToken) => CallAsync("Access check", _layout.AppPrefix, async c =>
    {
        await foreach (var _ in container.GetBlobsAsync(new GetBlobsOptions { Prefix = _layout.AppPrefix }, c).AsPages(pageSizeHint: 1))
        {
            break;
        }

        return true;
    }, cancellationToken);

    private StorageTransferOptions Transfers => new()
    {
        MaximumConcurrency = 4,
        InitialTransferSize = _azure.PartSizeBytes,
        MaximumTransferSize = _azure.PartSizeBytes,
    };

    /// <summary>HTTP's <c>from-to</c> and suffix <c>-n</c> ranges as the SDK's offset and length (a suffix needs the object's size).</summary>
    private static HttpRange ToHttpRange((long? From, long? To) range, long storedBytes) => range switch
    {
        ({ } from, { } to) => new HttpRange(from, to - from + 1),
        ({ } from, null) => new HttpRange(from),
        (null, { } last) => new HttpRange(Math.Max(0, storedBytes - last), Math.Min(last, storedBytes)),
        _ => default,
    };

    private async Task<T> CallAsync<T>(string operation, string key, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.ErrorCode is "BlobNotFound")
        {
            // Gone (deleted meanwhile): the callers answer "not found".
            return default!;
        }
        catch (Exception ex) when (AzureBlobErrors.IsStorageFailure(ex, cancellationToken))
        {
            throw _errors.Describe($"{operation} of {Location(key)}", container.Name, ex);
        }
    }
}
