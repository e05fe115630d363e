using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Xunit.Abstractions;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// A dump far larger than a part goes up and comes back down streamed: the managed heap never grows by anything like
/// the dump's size. In the capture collection so that no real dump of this process runs beside it and blurs the
/// measurement.
/// </summary>
[Collection(CaptureCollection.Name)]
public sealed class BucketEgressStreamingTests(ITestOutputHelper output)
{
    private const long DumpBytes = 384L << 20;
    private const long PartBytes = 16L << 20;

    /// <summary>Well above a few parts in flight, well below the dump: buffering the dump whole could not pass.</summary>
    private const long MaxHeapGrowthBytes = 160L << 20;

    [RequiresS3rverFact]
    public async Task A_dump_larger_than_memory_bounds_goes_up_in_parts_and_comes_back_streamed_with_bounded_heap()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await StartAsync(s3);
        var watch = new UploadWatch(host.Services);

        await TellAsync(s3, host, () => watch.UploadParts);
    }

    [RequiresAzuriteFact]
    public async Task A_dump_larger_than_memory_bounds_goes_up_to_Azure_in_blocks_and_comes_back_streamed_with_bounded_heap()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var host = await StartAsync(azurite);

        // The Azure SDK's parallel block upload is not counted here; the heap bound is what matters.
        await TellAsync(azurite, host, uploadParts: null);
    }

    private static Task<TestHost> StartAsync(IBucketServer server) => BucketTestHost.StartAsync(
        server, settings: new Dictionary<string, string?> { [$"{server.Section}:DeleteLocalAfterUpload"] = "true" },
        tune: options => options.PartSizeBytes = PartBytes, writer: new SizedDumpWriter(DumpBytes));

    private async Task TellAsync(IBucketServer server, TestHost host, Func<int>? uploadParts)
    {
        var client = host.Client;
        JsonElement result = default;
        var uploadPeak = await PeakHeapGrowthAsync(async () =>
        {
            using var created = await client.PostAsync("/debug/heapdump?type=heap", null);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            result = await created.Content.ReadFromJsonAsync<JsonElement>();
        });

        var egress = result.GetProperty("egress");
        Assert.True(egress.GetProperty("success").GetBoolean(), egress.GetProperty("error").GetString());
        if (uploadParts is not null)
        {
            // Random bytes do not compress: the zstd object is a little larger than the dump, so one part more.
            Assert.InRange(uploadParts(), (int)(DumpBytes / PartBytes), (int)(DumpBytes / PartBytes) + 1);
        }

        output.WriteLine($"{server.Provider}: upload of {DumpBytes >> 20} MB in {PartBytes >> 20} MB parts: managed heap peak +{uploadPeak >> 20} MB");
        Assert.True(uploadPeak < MaxHeapGrowthBytes, $"the heap grew by {uploadPeak >> 20} MB while uploading a {DumpBytes >> 20} MB dump");
        var key = egress.GetProperty("key").GetString()!;
        var id = result.GetProperty("id").GetString()!;
        var expected = result.GetProperty("sha256").GetString();
        Assert.Contains(key, await server.ListKeysAsync());

        string? downloaded = null;
        var downloadPeak = await PeakHeapGrowthAsync(async () =>
        {
            using var response = await client.GetAsync($"/debug/heapdump/{id}", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(DumpBytes, response.Content.Headers.ContentLength);
            await using var body = await response.Content.ReadAsStreamAsync();
            downloaded = Convert.ToHexStringLower(await SHA256.HashDataAsync(body));
        });

        Assert.Equal(expected, downloaded);
        output.WriteLine($"{server.Provider}: download of {DumpBytes >> 20} MB through the endpoint: managed heap peak +{downloadPeak >> 20} MB");
        Assert.True(downloadPeak < MaxHeapGrowthBytes, $"the heap grew by {downloadPeak >> 20} MB while streaming a {DumpBytes >> 20} MB dump");
    }

    /// <summary>The highest managed heap size seen while <paramref name="action"/> ran, above the size before it.</summary>
    private static async Task<long> PeakHeapGrowthAsync(Func<Task> action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false) - baseline);
                await Task.Delay(10);
            }
        });
        try
        {
            await action();
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
        }

        return peak;
    }
}
