using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// The store's bucket tier against a real S3 server: zstd objects with digests, verified fetch-back, presigned
/// downloads, damaged objects. The writer writes a compressible file instead of a dump (only the bytes matter here).
/// </summary>
public sealed class S3StoreTests
{
    private const long DumpBytes = 24L << 20;

    [RequiresS3rverFact("zstd")]
    public async Task A_dump_is_a_fraction_of_its_size_in_the_bucket_and_the_zstd_tool_reads_it_back_to_the_same_digest()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(DumpBytes, compressible: true));
        var (id, sha256, key, result) = await CaptureAsync(host);

        var stored = result.GetProperty("egress").GetProperty("storedBytes").GetInt64();
        Assert.True(stored * 5 <= DumpBytes, $"{stored} bytes in the bucket for a {DumpBytes}-byte dump");
        Assert.EndsWith($"heapdump-{id}.dmp.zst", key);

        var file = Path.Combine(host.DumpDirectory, "copy.dmp.zst");
        await File.WriteAllBytesAsync(file, await s3.ReadAsync(key));
        var decoded = Programs.Run("zstd", "-d", "-q", file, "-o", file[..^4]);
        Assert.True(decoded.ExitCode == 0, decoded.Output);
        Assert.Equal(sha256, await Digest.Sha256OfFileAsync(file[..^4]));
    }

    [RequiresS3rverFact]
    public async Task A_fetched_copy_is_verified_and_retention_never_deletes_a_dump_being_analysed()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, settings: new Dictionary<string, string?> { ["HeapDiagnostics:Storage:MaxDumps"] = "1" }, writer: new SizedDumpWriter(DumpBytes, compressible: true));
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        var (id, sha256, _, _) = await CaptureAsync(host);
        Assert.True(store.Delete(Parse(id)));

        var lease = await store.LeaseLocalCopyAsync(Parse(id), CancellationToken.None);

        Assert.Equal(sha256, lease!.Sha256);
        Assert.Equal(sha256, await Digest.Sha256OfFileAsync(lease.DumpPath));
        Assert.Equal(DumpBytes, lease.SizeBytes);

        // Two more captures with Storage:MaxDumps=1: the dump being analysed stays, the one beside it goes.
        var (second, _, _, _) = await CaptureAsync(host);
        var (third, _, _, _) = await CaptureAsync(host);
        Assert.Equal([third, id], store.List().Select(dump => dump.Id.ToString()));
        Assert.Null(store.Find(Parse(second)));

        lease.Dispose();
        store.ApplyRetention();
        Assert.Equal([third], store.List().Select(dump => dump.Id.ToString()));
    }

    [RequiresS3rverFact("curl")]
    public async Task A_presigned_download_redirects_to_the_bucket_and_curl_fetches_the_same_dump()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(DumpBytes, compressible: true), settings: new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Egress:S3:PresignedDownloads"] = "true",
            ["HeapDiagnostics:Egress:S3:DeleteLocalAfterUpload"] = "true",
        });
        var (id, sha256, key, _) = await CaptureAsync(host);
        var client = host.Client;   // the test server's client follows no redirect: the 307 itself is seen

        using var redirect = await client.GetAsync($"/debug/heapdump/{id}");

        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        var url = redirect.Headers.Location!.AbsoluteUri;
        Assert.StartsWith($"{s3.ServiceUrl}/{s3.Bucket}/{key}?", url);
        var file = Path.Combine(host.DumpDirectory, "presigned.dmp.zst");
        var curl = Programs.Run("curl", "-sS", "-f", "-D", file + ".headers", "-o", file, url);
        Assert.True(curl.ExitCode == 0, curl.Output);
        await using (var body = File.OpenRead(file))
        {
            Assert.Equal(sha256, await Digest.Sha256OfZstdAsync(body));
        }

        var headers = await File.ReadAllTextAsync(file + ".headers");
        Assert.Contains($"x-amz-meta-sha256: {sha256}", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"filename=\"heapdump-{id}.dmp.zst\"", headers);

        // A capture with download=true is sent to GET the same kind of URL (303: the POST is not repeated there).
        using var captured = await client.PostAsync("/debug/heapdump?download=true", null);
        Assert.Equal(HttpStatusCode.SeeOther, captured.StatusCode);
        Assert.StartsWith($"{s3.ServiceUrl}/{s3.Bucket}/", captured.Headers.Location!.AbsoluteUri);
    }

    [RequiresS3rverFact]
    public async Task Damaged_objects_answer_502_naming_the_problem_and_leave_no_partial_file()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(DumpBytes, compressible: true));
        var client = host.Client;
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        var (id, sha256, key, _) = await CaptureAsync(host);
        var original = await s3.ReadAsync(key);
        Assert.True(store.Delete(Parse(id)));

        // Not zstd at all: a download is refused before it starts, and a fetch for analysis keeps nothing.
        await s3.OverwriteAsync(key, System.Security.Cryptography.RandomNumberGenerator.GetBytes(100_000));
        using (var download = await client.GetAsync($"/debug/heapdump/{id}"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, download.StatusCode);
            Assert.Contains("not valid zstd", (await download.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail);
        }

        await AssertFetchFailsAsync("not a complete zstd stream");

        // Truncated: the fetch fails at the end of the stream; a download stops short of its Content-Length.
        await s3.OverwriteAsync(key, original[..(original.Length / 2)]);
        await AssertFetchFailsAsync("not a complete zstd stream");
        using (var download = await client.GetAsync($"/debug/heapdump/{id}", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(DumpBytes, download.Content.Headers.ContentLength);
            await Assert.ThrowsAnyAsync<Exception>(async () => await (await download.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null));
        }

        // Empty: zstd reads no frame as nothing, so it is the recorded size that refuses it, before the download starts.
        await s3.OverwriteAsync(key, []);
        await AssertFetchFailsAsync("not a complete zstd stream");
        foreach (var encoding in new[] { "identity", "zstd" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{id}") { Headers = { { "Accept-Encoding", encoding } } };
            using var download = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadGateway, download.StatusCode);
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Its object holds 0 bytes, but the dump uploaded there was {DumpBytes:N0} bytes"), (await download.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail);
        }

        // Valid zstd of other bytes: the digest recorded at upload catches it, and the message names both digests.
        using (var other = new MemoryStream())
        {
            await using (var zstd = DumpCodec.Compress(other, leaveOpen: true))
            {
                await zstd.WriteAsync(new byte[DumpBytes]);
            }

            await s3.OverwriteAsync(key, other.ToArray());
        }

        var mismatch = await AssertFetchFailsAsync(sha256);
        Assert.Contains(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(new byte[DumpBytes])), mismatch);

        async Task<string> AssertFetchFailsAsync(string expected)
        {
            var error = await Assert.ThrowsAsync<HeapDumpStoreException>(() => store.LeaseLocalCopyAsync(Parse(id), CancellationToken.None));
            Assert.Contains(expected, error.Message);
            Assert.NotNull(error.Fix);
            using var summary = await client.GetAsync($"/debug/heapdump/{id}/summary");
            Assert.Equal(HttpStatusCode.BadGateway, summary.StatusCode);
            Assert.Contains(expected, (await summary.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail);
            Assert.Empty(Directory.GetFiles(host.DumpDirectory, $"heapdump-{id}.*"));
            return error.Message;
        }
    }

    [RequiresS3rverFact]
    public async Task Diagnostics_rewritten_after_the_upload_reach_the_bucket()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(1 << 20, compressible: true));
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        var (id, _, key, _) = await CaptureAsync(host);
        var diagnosticsKey = key.Replace(".dmp.zst", ".diagnostics.json", StringComparison.Ordinal);

        // What the leak reporter does after an automatic dump: the bucket copy follows in the background.
        var updated = "{\"leakReport\":{\"headline\":\"grew\"}}"u8.ToArray();
        store.WriteDiagnostics(Parse(id), updated);

        await Poll.UntilAsync(async () => (await s3.ReadUnlessBeingReplacedAsync(diagnosticsKey))?.SequenceEqual(updated) == true, "the rewritten diagnostics to reach the bucket");
    }

    [RequiresS3rverFact]
    public async Task A_zstd_form_left_half_written_by_a_failed_follower_is_made_again_from_the_dump()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3);
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        var diagnostics = host.Services.GetRequiredService<HeapDiag.AspNetCore.Diagnostics.MemoryDiagnosticsCollector>().Collect("manual", 0);
        var id = new HeapDumpId(DateTimeOffset.UtcNow, 42, "manual", 0, "heap");
        var content = new byte[3 << 20];
        new Random(7).NextBytes(content.AsSpan(0, 1 << 20));
        await File.WriteAllBytesAsync(store.PrepareTempDump(id), content);
        await File.WriteAllBytesAsync(store.TempPackedDumpPath(id)!, [0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
        var sha256 = Digest.Sha256(content);

        var stored = await store.CommitAsync(id, diagnostics, followedSha256: null, CancellationToken.None);
        var shipped = await store.ShipAsync(stored, diagnostics);

        Assert.True(shipped.Success, shipped.Error);
        Assert.Equal("zstd", shipped.Compression);
        Assert.Equal(sha256, await Digest.Sha256OfZstdAsync(new MemoryStream(await s3.ReadAsync(shipped.Key!))));
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.zst*"));
    }

    [RequiresS3rverFact]
    public async Task Deleting_a_dump_deletes_its_object_its_diagnostics_and_its_results_in_the_bucket_and_nothing_else()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(DumpBytes, compressible: true));
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        var (kept, _, _, _) = await CaptureAsync(host);
        var (id, _, key, _) = await CaptureAsync(host);
        var results = new[] { DumpEvent.Suspects, DumpEvent.LeakReport }.Select(name => BucketLayout.ResultKey(key, name)).ToList();
        foreach (var name in new[] { DumpEvent.Suspects, DumpEvent.LeakReport })
        {
            store.PublishResult(Parse(id), name, "{}"u8.ToArray());
        }

        // The results are copied in the background: wait until both are there.
        var before = await s3.ListKeysAsync();
        for (var waited = 0; !results.All(before.Contains) && waited < 60; waited++)
        {
            await Task.Delay(500);
            before = await s3.ListKeysAsync();
        }

        Assert.Subset(new HashSet<string>(before), new HashSet<string>([key, BucketLayout.DiagnosticsKey(key), .. results]));

        using var deleted = await host.Client.DeleteAsync($"/debug/heapdump/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var after = await s3.ListKeysAsync();
        Assert.DoesNotContain(after, k => k.Contains(id, StringComparison.Ordinal));
        Assert.Equal(before.Where(k => !k.Contains(id, StringComparison.Ordinal)).Order(), after.Order());
        Assert.Contains(after, k => k.Contains(kept, StringComparison.Ordinal));
    }

    [RequiresS3rverFact]
    public async Task A_result_the_instance_record_cannot_use_is_logged_and_the_app_keeps_serving()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(DumpBytes, compressible: true));
        var (id, _, _, _) = await CaptureAsync(host);

        // A suspect without its accumulation point: the record's writer cannot summarize it.
        host.Services.GetRequiredService<HeapDumpStore>().PublishResult(Parse(id), DumpEvent.Suspects, """{"suspects":[{}]}"""u8.ToArray());

        var logged = await host.Logs.SingleAsync(2302);
        Assert.IsType<NullReferenceException>(logged.Exception);
        using var list = await host.Client.GetAsync("/debug/heapdump");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.False(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
    }

    private static async Task<(string Id, string Sha256, string Key, JsonElement Result)> CaptureAsync(TestHost host)
    {
        var result = await host.CaptureResultAsync();
        var egress = result.GetProperty("egress");
        Assert.True(egress.GetProperty("success").GetBoolean(), egress.GetProperty("error").GetString());
        return (result.GetProperty("id").GetString()!, result.GetProperty("sha256").GetString()!, egress.GetProperty("key").GetString()!, result);
    }

    private static HeapDumpId Parse(string id) => HeapDumpId.TryParse(id, out var parsed) ? parsed : throw new ArgumentException(id);
}
