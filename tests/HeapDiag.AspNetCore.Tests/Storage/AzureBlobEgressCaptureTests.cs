using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// Real dumps of this process shipped to a real Azure Blob Storage server (Azurite): the story the S3 tests tell, told
/// by the same code; these run one at a time with the other captures.
/// </summary>
[Collection(CaptureCollection.Name)]
public sealed class AzureBlobEgressCaptureTests
{
    [RequiresAzuriteFact]
    public async Task A_real_dump_goes_up_compressed_with_its_digest_and_is_listed_downloaded_fetched_back_and_deleted_everywhere()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(azurite);

        await BucketCaptureStory.TellAsync(azurite, host);
    }

    [RequiresAzuriteFact]
    public async Task DeleteLocalAfterUpload_keeps_only_the_container_copy_and_download_true_streams_it_back()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await BucketCaptureStory.DeleteLocalAfterUploadAsync(azurite);
    }

    [RequiresAzuriteFact]
    public async Task A_heap_dump_held_only_in_the_container_is_fetched_back_and_analysed()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(azurite, settings: new Dictionary<string, string?> { [$"{azurite.Section}:DeleteLocalAfterUpload"] = "true" });

        var result = await host.CaptureResultAsync("heap");
        Assert.True(result.GetProperty("egress").GetProperty("localDeleted").GetBoolean(), result.GetProperty("egress").ToString());
        var id = result.GetProperty("id").GetString()!;
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, $"heapdump-{id}.dmp"));

        using var summary = await host.Client.GetAsync($"/debug/heapdump/{id}/summary");

        Assert.Equal(HttpStatusCode.OK, summary.StatusCode);
        Assert.Contains("System.String", (await summary.Content.ReadFromJsonAsync<JsonElement>()).ToString());
        Assert.Equal(result.GetProperty("sha256").GetString(), await Digest.Sha256OfFileAsync(Path.Combine(host.DumpDirectory, $"heapdump-{id}.dmp")));
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.tmp"));
    }
}
