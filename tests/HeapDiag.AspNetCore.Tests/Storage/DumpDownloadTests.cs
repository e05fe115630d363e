using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>Downloads of local dumps over real HTTP: zstd on the wire, ranges on the raw form, and a dump deleted mid-download.</summary>
public sealed class DumpDownloadTests
{
    private const long DumpBytes = 16L << 20;

    [Fact]
    public async Task Accept_encoding_zstd_gets_the_dump_compressed_without_ranges_and_the_raw_form_keeps_ranges()
    {
        await using var host = await StartAsync();
        var client = host.Client;
        var (id, sha256) = await CaptureAsync(host);

        using var zstdRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{id}");
        zstdRequest.Headers.AcceptEncoding.ParseAdd("gzip, zstd;q=0.9");
        zstdRequest.Headers.Range = new RangeHeaderValue(0, 99);
        using var zstd = await client.SendAsync(zstdRequest);

        Assert.Equal(HttpStatusCode.OK, zstd.StatusCode);
        Assert.Equal("zstd", Assert.Single(zstd.Content.Headers.ContentEncoding));
        Assert.Equal("none", zstd.Headers.AcceptRanges.Single());
        Assert.Contains("Accept-Encoding", zstd.Headers.Vary);
        Assert.Equal(sha256, zstd.Headers.GetValues("X-HeapDiag-Sha256").Single());
        var compressed = await zstd.Content.ReadAsByteArrayAsync();
        Assert.True(compressed.Length * 5 <= DumpBytes, $"{compressed.Length} bytes on the wire for {DumpBytes}");
        Assert.Equal(sha256, await Digest.Sha256OfZstdAsync(new MemoryStream(compressed)));

        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{id}");
        rangeRequest.Headers.AcceptEncoding.ParseAdd("zstd;q=0");
        rangeRequest.Headers.Range = new RangeHeaderValue(100, 199);
        using var range = await client.SendAsync(rangeRequest);
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Empty(range.Content.Headers.ContentEncoding);
        Assert.Equal(100, (await range.Content.ReadAsByteArrayAsync()).Length);

        // A capture with download=true honours Accept-Encoding too.
        using var captureRequest = new HttpRequestMessage(HttpMethod.Post, "/debug/heapdump?download=true");
        captureRequest.Headers.AcceptEncoding.ParseAdd("zstd");
        using var captured = await client.SendAsync(captureRequest);
        Assert.Equal(HttpStatusCode.OK, captured.StatusCode);
        Assert.Equal("zstd", Assert.Single(captured.Content.Headers.ContentEncoding));
        Assert.Equal(captured.Headers.GetValues("X-HeapDiag-Sha256").Single(), await Digest.Sha256OfZstdAsync(await captured.Content.ReadAsStreamAsync()));
    }

    [Fact]
    public async Task A_dump_deleted_while_it_is_downloaded_is_sent_whole_from_the_open_file()
    {
        await using var host = await StartAsync();
        var client = host.Client;
        var (id, sha256) = await CaptureAsync(host);

        using var download = await client.GetAsync($"/debug/heapdump/{id}", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await download.Content.ReadAsStreamAsync();
        var start = new byte[1 << 20];
        await body.ReadExactlyAsync(start);

        using (var deleted = await client.DeleteAsync($"/debug/heapdump/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Empty(Directory.GetFiles(host.DumpDirectory, $"heapdump-{id}.*"));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(start);
        using var rest = new MemoryStream();
        await body.CopyToAsync(rest);
        sha.AppendData(rest.ToArray());
        Assert.Equal(DumpBytes, start.Length + rest.Length);
        Assert.Equal(sha256, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    private static Task<TestHost> StartAsync() => TestHost.StartAsync(services: TestWriters.Use(new SizedDumpWriter(DumpBytes, compressible: true)));

    private static async Task<(string Id, string Sha256)> CaptureAsync(TestHost host)
    {
        var result = await host.CaptureResultAsync();
        return (result.GetProperty("id").GetString()!, result.GetProperty("sha256").GetString()!);
    }
}
