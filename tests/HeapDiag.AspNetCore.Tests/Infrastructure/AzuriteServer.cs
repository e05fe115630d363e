using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real Azure Blob Storage server for the bucket tier's tests: Azurite's blob service (npm), started on 127.0.0.1 with a
/// fresh temp directory and one container, stopped and deleted on dispose. Found at <c>$HEAPDIAG_AZURITE</c>, else at
/// <c>.tools/node_modules/.bin/azurite-blob</c> in the repository (where .ci/run installs it). It signs with Azurite's
/// well-known development account (public, documented by Microsoft): no secret of anyone's.
/// </summary>
public sealed class AzuriteServer : IBucketServer
{
    public const string Account = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    public const string Install = "npm install --prefix .tools azurite@3.37.0, or set HEAPDIAG_AZURITE to the path of its azurite-blob";

    private readonly NpmServer _server;

    private AzuriteServer(NpmServer server, string container)
    {
        _server = server;
        Container = container;
    }

    public string Container { get; }

    public string Provider => "AzureBlob";

    public string Section => "HeapDiagnostics:Egress:AzureBlob";

    public string LocationName => "azureblob";

    public char MetadataSeparator => '_';

    public string Endpoint => BlobEndpoint(_server.Port);

    public string Output => _server.Output;

    /// <summary>The azurite-blob executable, or null when it is not installed.</summary>
    public static string? Find() => NpmServer.Find("HEAPDIAG_AZURITE", "azurite-blob");

    /// <summary>Starts Azurite and creates <paramref name="container"/> (HeapDiag never creates it).</summary>
    public static async Task<AzuriteServer> StartAsync(string container = "heapdumps")
    {
        var executable = Find() ?? throw new InvalidOperationException($"azurite is not installed ({Install}).");

        // The SDK may speak a newer API version than this Azurite knows; the calls HeapDiag makes are old ones.
        var server = new AzuriteServer(
            await NpmServer.StartAsync("azurite", executable, "successfully listens", (directory, port) => ["--blobHost", "127.0.0.1", "--blobPort", port, "--location", directory, "--skipApiVersionCheck", "--disableProductStyleUrl", "--loose", "--silent"]),
            container);
        await server.CreateClient().CreateIfNotExistsAsync();
        return server;
    }

    /// <summary>A connection string to Azurite's development account at <paramref name="endpoint"/>, or with another key.</summary>
    public static string ConnectionString(string endpoint, string key = AccountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={key};BlobEndpoint={endpoint};";

    public static string BlobEndpoint(int port) => $"http://127.0.0.1:{port}/{Account}";

    public string ConnectionString() => ConnectionString(Endpoint);

    /// <summary>A client of the container with the development account's key, for checking what the app stored.</summary>
    public BlobContainerClient CreateClient() => new(ConnectionString(), Container);

    public string Location(string key) => $"{Endpoint}/{Container}/{key}";

    public Dictionary<string, string?> Settings(string? bucket = null, string prefix = "team/dumps") => new()
    {
        ["HeapDiagnostics:Egress:Provider"] = Provider,
        ["HeapDiagnostics:Egress:AzureBlob:ConnectionString"] = ConnectionString(),
        ["HeapDiagnostics:Egress:AzureBlob:ContainerName"] = bucket ?? Container,
        ["HeapDiagnostics:Egress:AzureBlob:Prefix"] = prefix,
    };

    public async Task<byte[]> ReadAsync(string key) => (await CreateClient().GetBlobClient(key).DownloadContentAsync()).Value.Content.ToArray();

    public async Task<IDictionary<string, string>> MetadataAsync(string key) => (await CreateClient().GetBlobClient(key).GetPropertiesAsync()).Value.Metadata;

    public async Task<IReadOnlyList<string>> ListKeysAsync()
    {
        var keys = new List<string>();
        await foreach (var item in CreateClient().GetBlobsAsync(new GetBlobsOptions()))
        {
            keys.Add(item.Name);
        }

        return keys;
    }

    public async Task PutAsync(string key, byte[] content) => await CreateClient().GetBlobClient(key).UploadAsync(BinaryData.FromBytes(content), overwrite: true);

    public async Task OverwriteAsync(string key, byte[] content)
    {
        var blob = CreateClient().GetBlobClient(key);
        var metadata = (await blob.GetPropertiesAsync()).Value.Metadata;
        await blob.UploadAsync(BinaryData.FromBytes(content), new BlobUploadOptions { Metadata = metadata });
    }

    public void Kill() => _server.Kill();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

/// <summary>A fact that needs Azurite; skipped with a message naming it when it is missing.</summary>
public sealed class RequiresAzuriteFactAttribute : FactAttribute
{
    public RequiresAzuriteFactAttribute(params string[] programs)
    {
        if (AzuriteServer.Find() is null)
        {
            Skip = $"azurite is not installed ({AzuriteServer.Install}; it needs node); .ci/run installs it.";
        }
        else if (programs.FirstOrDefault(program => Programs.Find(program) is null) is { } missing)
        {
            Skip = $"{missing} is not installed (apt-get install {missing}); .ci/run installs it.";
        }
    }
}
