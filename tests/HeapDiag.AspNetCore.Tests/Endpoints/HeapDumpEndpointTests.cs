using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Endpoints;

/// <summary>
/// The dump routes over HTTP: list, download (whole, in ranges, or straight from the capture), diagnostics, delete; ids
/// that are not ours get 400 or 404 and touch nothing outside the dump directory. Real mini dumps of this process.
/// </summary>
[Collection(CaptureCollection.Name)]
public sealed class HeapDumpEndpointTests
{
    [Fact]
    public async Task A_dump_can_be_listed_downloaded_in_ranges_and_deleted()
    {
        await using var host = await TestHost.StartAsync();
        var client = host.Client;
        using var created = await client.PostAsync("/debug/heapdump?type=mini", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var list = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        var item = Assert.Single(list.GetProperty("dumps").EnumerateArray());
        Assert.Equal(id, item.GetProperty("id").GetString());
        Assert.Equal("mini", item.GetProperty("type").GetString());
        Assert.Equal($"/debug/heapdump/{id}", item.GetProperty("links").GetProperty("download").GetString());

        var onDisk = await File.ReadAllBytesAsync(Path.Combine(host.DumpDirectory, $"heapdump-{id}.dmp"));
        using var download = await client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal($"heapdump-{id}.dmp", download.Content.Headers.ContentDisposition?.FileNameStar ?? download.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal(onDisk, await download.Content.ReadAsByteArrayAsync());

        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{id}");
        rangeRequest.Headers.Range = new RangeHeaderValue(100, 199);
        using var range = await client.SendAsync(rangeRequest);
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(onDisk[100..200], await range.Content.ReadAsByteArrayAsync());

        using var diagnostics = await client.GetAsync($"/debug/heapdump/{id}/diagnostics");
        Assert.Equal(HttpStatusCode.OK, diagnostics.StatusCode);
        Assert.Equal("manual", (await diagnostics.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("trigger").GetString());

        using var deleted = await client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var deletedAgain = await client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
        Assert.Empty(Directory.GetFiles(host.DumpDirectory));
    }

    [Fact]
    public async Task Download_true_captures_and_streams_the_dump_in_one_response()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.Client.PostAsync("/debug/heapdump?type=mini&download=true", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsByteArrayAsync();
        var file = Assert.Single(Directory.GetFiles(host.DumpDirectory, "*.dmp"));
        Assert.Equal(await File.ReadAllBytesAsync(file), body);
        Assert.EndsWith(Path.GetFileNameWithoutExtension(file)["heapdump-".Length..], response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("%2e%2e%2fsecret.txt")]
    [InlineData("..%5C..%5Csecret.txt")]
    [InlineData("heapdump-20261124T011500123Z-2477-manual-0-heap.dmp")]
    [InlineData("20261124T011500123Z-2477-manual-0-heap%3Brm")]
    [InlineData("20261124T011500123Z-2477-manual-0-héap")]
    [InlineData("20261124T011500123Z-99999999999-manual-0-heap")]
    public async Task Hostile_ids_get_400_or_404_and_nothing_outside_the_directory_is_touched(string id)
    {
        await using var host = await TestHost.StartAsync();
        var client = host.Client;
        var outside = Path.Combine(Path.GetDirectoryName(host.DumpDirectory)!, "secret.txt");
        var sentinel = Path.Combine(host.DumpDirectory, "..", Path.GetFileName(host.DumpDirectory) + "-sentinel");
        await File.WriteAllTextAsync(sentinel, "keep");
        try
        {
            foreach (var path in new[] { $"/debug/heapdump/{id}", $"/debug/heapdump/{id}/diagnostics" })
            {
                using var get = await client.GetAsync(path);
                Assert.True(get.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"GET {path}: {get.StatusCode}");
            }

            using var delete = await client.DeleteAsync($"/debug/heapdump/{id}");
            Assert.True(delete.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"DELETE: {delete.StatusCode}");
            Assert.True(File.Exists(sentinel));
            Assert.False(File.Exists(outside) && new FileInfo(outside).LastWriteTimeUtc > DateTime.UtcNow.AddMinutes(-1));
        }
        finally
        {
            File.Delete(sentinel);
        }
    }

    [Fact]
    public async Task A_very_long_id_is_400()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.Client.GetAsync($"/debug/heapdump/{new string('a', 5000)}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
