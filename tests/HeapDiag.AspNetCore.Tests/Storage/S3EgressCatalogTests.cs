using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3.Model;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// Listing, local copies and deletes against a real S3 server, with a writer that writes a file instead of a dump
/// (the dump's content does not matter here), so these need no capture collection.
/// </summary>
public sealed class S3EgressCatalogTests
{
    private const long DumpBytes = (3L << 20) + 12345;

    [RequiresS3rverFact]
    public async Task Old_uncompressed_dumps_of_other_instances_are_listed_downloaded_and_fetched_once_for_concurrent_callers()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(DumpBytes));
        var client = host.Client;

        // Another instance of the app (another pod, long gone) left a dump in the bucket, uncompressed and without a
        // digest, as versions before zstd did; a foreign object sits beside it.
        var otherId = "20261101T101010123Z-999-auto-2-heap";
        var otherKey = $"{BucketTestHost.AppPrefix}999-abcdef012345/heapdump-{otherId}.dmp";
        var content = RandomNumberGenerator.GetBytes(200_000);
        using (var s3Client = s3.CreateClient())
        {
            await s3Client.PutObjectAsync(new PutObjectRequest { BucketName = s3.Bucket, Key = otherKey, InputStream = new MemoryStream(content), UseChunkEncoding = false });
            await s3Client.PutObjectAsync(new PutObjectRequest { BucketName = s3.Bucket, Key = $"{BucketTestHost.AppPrefix}notes.txt", ContentBody = "not a dump", UseChunkEncoding = false });
            await s3Client.PutObjectAsync(new PutObjectRequest { BucketName = s3.Bucket, Key = "team/dumps/OtherApp/1-aa/heapdump-20261101T101010123Z-1-auto-1-heap.dmp", ContentBody = "another app", UseChunkEncoding = false });
        }

        using var created = await client.PostAsync("/debug/heapdump?type=heap", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var ownId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var listed = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        var dumps = listed.GetProperty("dumps").EnumerateArray().ToList();
        Assert.Equal([ownId, otherId], dumps.Select(d => d.GetProperty("id").GetString()));
        Assert.Equal(["both", "s3"], dumps.Select(d => d.GetProperty("location").GetString()));
        Assert.Equal(content.Length, dumps[1].GetProperty("sizeBytes").GetInt64());
        Assert.Equal("auto", dumps[1].GetProperty("trigger").GetString());
        Assert.Equal(JsonValueKind.Null, dumps[1].GetProperty("links").GetProperty("diagnostics").ValueKind);
        Assert.Equal(JsonValueKind.Null, dumps[1].GetProperty("sha256").ValueKind);
        Assert.Equal(await Digest.Sha256OfFileAsync(Path.Combine(host.DumpDirectory, $"heapdump-{ownId}.dmp")), dumps[0].GetProperty("sha256").GetString());

        using (var download = await client.GetAsync($"/debug/heapdump/{otherId}"))
        {
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());
        }

        // An uncompressed object still passes a single range to the bucket, and is compressed on the fly for zstd.
        using (var rangeRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{otherId}"))
        {
            rangeRequest.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
            using var range = await client.SendAsync(rangeRequest);
            Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
            Assert.Equal($"bytes 100-199/{content.Length}", range.Content.Headers.ContentRange?.ToString());
            Assert.Equal(content[100..200], await range.Content.ReadAsByteArrayAsync());
        }

        using (var zstdRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{otherId}"))
        {
            zstdRequest.Headers.AcceptEncoding.ParseAdd("zstd");
            using var zstd = await client.SendAsync(zstdRequest);
            Assert.Equal("zstd", Assert.Single(zstd.Content.Headers.ContentEncoding));
            Assert.Equal(Digest.Sha256(content), await Digest.Sha256OfZstdAsync(await zstd.Content.ReadAsStreamAsync()));
        }

        using (var noDiagnostics = await client.GetAsync($"/debug/heapdump/{otherId}/diagnostics"))
        {
            Assert.Equal(HttpStatusCode.NotFound, noDiagnostics.StatusCode);
        }

        var store = host.Services.GetRequiredService<HeapDumpStore>();
        Assert.True(HeapDumpId.TryParse(otherId, out var id));
        var copies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.LeaseLocalCopyAsync(id, CancellationToken.None)));
        Assert.All(copies, copy => Assert.Equal(Path.Combine(host.DumpDirectory, $"heapdump-{otherId}.dmp"), copy!.DumpPath));
        Assert.Equal(content, await File.ReadAllBytesAsync(copies[0]!.DumpPath));
        Assert.All(copies, copy => Assert.Equal(Digest.Sha256(content), copy!.Sha256));
        Assert.Single(host.Logs.Entries, e => e.EventId.Id == 2205);
        foreach (var copy in copies)
        {
            copy!.Dispose();
        }

        Assert.True(HeapDumpId.TryParse("20200101T000000000Z-1-manual-0-heap", out var unknown));
        Assert.Null(await store.LeaseLocalCopyAsync(unknown, CancellationToken.None));
    }

    [RequiresS3rverFact]
    public async Task With_the_bucket_down_a_delete_still_frees_the_disk_and_answers_502_naming_the_bucket()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(DumpBytes));
        var client = host.Client;
        using var created = await client.PostAsync("/debug/heapdump?type=heap", null);
        var result = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(result.GetProperty("egress").GetProperty("success").GetBoolean());
        var id = result.GetProperty("id").GetString()!;

        s3.Kill();
        using var deleted = await client.DeleteAsync($"/debug/heapdump/{id}");

        Assert.Equal(HttpStatusCode.BadGateway, deleted.StatusCode);
        var problem = await deleted.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("The local copy was deleted", problem!.Detail);
        Assert.Contains($"s3://{s3.Bucket}/", problem.Detail);
        Assert.Contains(s3.ServiceUrl, problem.Detail);
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "heapdump-*"));

        Assert.True(HeapDumpId.TryParse(id, out var dumpId));
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        var error = await Assert.ThrowsAsync<HeapDumpStoreException>(() => store.LeaseLocalCopyAsync(dumpId, CancellationToken.None));
        Assert.Contains(s3.ServiceUrl, error.Message);
        Assert.NotNull(error.Fix);

        using var download = await client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.BadGateway, download.StatusCode);
        Assert.Contains(s3.ServiceUrl, (await download.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail);
    }
}
