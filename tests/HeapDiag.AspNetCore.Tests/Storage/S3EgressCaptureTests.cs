using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.Runtime;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>Real dumps of this process shipped to a real S3 server (s3rver), so these run one at a time with the other captures.</summary>
[Collection(CaptureCollection.Name)]
public sealed class S3EgressCaptureTests
{
    [RequiresS3rverFact]
    public async Task A_real_dump_goes_up_compressed_with_its_digest_and_is_listed_downloaded_fetched_back_and_deleted_everywhere()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3);
        var instance = host.Services.GetRequiredService<ProcessInstance>();

        using var created = await host.Client.PostAsync("/debug/heapdump?type=mini", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var result = await created.Content.ReadFromJsonAsync<JsonElement>();
        var dump = new CapturedDump(
            result.GetProperty("id").GetString()!,
            result.GetProperty("heapPath").GetString()!,
            result.GetProperty("diagPath").GetString()!,
            result.GetProperty("sizeBytes").GetInt64(),
            result.GetProperty("sha256").GetString()!,
            $"{BucketTestHost.AppPrefix}{instance.ProcessId}-{instance.SessionId}/heapdump-{result.GetProperty("id").GetString()}.dmp.zst");

        // The analyzer process hashed and compressed the dump while createdump wrote it: the store did not read it again.
        Assert.DoesNotContain(host.Logs.Entries, entry => entry.EventId.Id == 2012);
        var stored = await AssertUploadedAsync(s3, host, instance, result.GetProperty("egress"), dump);
        await AssertListedAsync(host.Client, dump, "both");

        // The instance that wrote it is gone (its disk with it): the bucket still serves the dump, its size and digest.
        foreach (var file in Directory.GetFiles(host.DumpDirectory, $"heapdump-{dump.Id}.*"))
        {
            File.Delete(file);
        }

        var item = await AssertListedAsync(host.Client, dump, "s3");
        Assert.Equal(dump.SizeBytes, item.GetProperty("sizeBytes").GetInt64());
        Assert.Equal($"/debug/heapdump/{dump.Id}/diagnostics", item.GetProperty("links").GetProperty("diagnostics").GetString());
        await AssertDownloadsFromTheBucketAsync(host.Client, dump, stored);
        await AssertFetchedBackAsync(host, dump);
        await AssertEgressStatusAsync(host.Client, dump.Id);
        await AssertDeletedEverywhereAsync(s3, host, dump.Id);
    }

    /// <summary>What one capture answered: its id, files, size, digest, and the key its upload should have.</summary>
    private sealed record CapturedDump(string Id, string DumpPath, string DiagnosticsPath, long SizeBytes, string Sha256, string Key);

    /// <summary>The upload: zstd that decodes to the very dump, its digest on disk and in the metadata; returns the object's bytes.</summary>
    private static async Task<byte[]> AssertUploadedAsync(S3rverServer s3, TestHost host, ProcessInstance instance, JsonElement egress, CapturedDump dump)
    {
        Assert.Equal("S3", egress.GetProperty("provider").GetString());
        Assert.True(egress.GetProperty("success").GetBoolean(), egress.GetProperty("error").GetString());
        Assert.Equal(dump.Key, egress.GetProperty("key").GetString());
        Assert.Equal($"s3://{s3.Bucket}/{dump.Key}", egress.GetProperty("location").GetString());
        Assert.Equal("zstd", egress.GetProperty("compression").GetString());
        Assert.False(egress.GetProperty("localDeleted").GetBoolean());

        // The digest is of the dump on disk, written beside it in sha256sum's format and into its diagnostics.
        Assert.Equal(await Digest.Sha256OfFileAsync(dump.DumpPath), dump.Sha256);
        Assert.Equal($"{dump.Sha256}  heapdump-{dump.Id}.dmp\n", await File.ReadAllTextAsync(Path.Combine(host.DumpDirectory, $"heapdump-{dump.Id}.sha256")));
        Assert.Equal(dump.Sha256, JsonDocument.Parse(await File.ReadAllBytesAsync(dump.DiagnosticsPath)).RootElement.GetProperty("dumpSha256").GetString());

        // The bucket holds zstd that decodes to the very dump (not aws-chunked framing), with the digest as metadata.
        var stored = await s3.ReadAsync(dump.Key);
        Assert.Equal(egress.GetProperty("storedBytes").GetInt64(), stored.Length);
        Assert.True(stored.Length < dump.SizeBytes, $"{stored.Length} stored bytes for a {dump.SizeBytes}-byte dump");
        Assert.Equal(dump.Sha256, await Digest.Sha256OfZstdAsync(new MemoryStream(stored)));
        using (var s3Client = s3.CreateClient())
        {
            var metadata = await s3Client.GetObjectMetadataAsync(s3.Bucket, dump.Key);
            Assert.Equal(dump.Sha256, metadata.Metadata["sha256"]);
            Assert.Equal(dump.SizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata.Metadata["size-bytes"]);
            Assert.Equal("manual", metadata.Metadata["trigger"]);
            Assert.Equal("0", metadata.Metadata["dump-number"]);
            Assert.Equal("mini", metadata.Metadata["dump-type"]);
            Assert.Equal($"{instance.ProcessId}-{instance.SessionId}", metadata.Metadata["instance"]);
            Assert.True(long.Parse(metadata.Metadata["working-set-bytes"], System.Globalization.CultureInfo.InvariantCulture) > 0);
            Assert.True(long.Parse(metadata.Metadata["gc-heap-size-bytes"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        }

        var diagnosticsKey = dump.Key.Replace(".dmp.zst", ".diagnostics.json", StringComparison.Ordinal);
        Assert.Equal(Digest.Sha256(await File.ReadAllBytesAsync(dump.DiagnosticsPath)), await s3.Sha256Async(diagnosticsKey));
        return stored;
    }

    /// <summary>The list holds the one dump, at <paramref name="location"/>, with its digest; returns its item.</summary>
    private static async Task<JsonElement> AssertListedAsync(HttpClient client, CapturedDump dump, string location)
    {
        var listed = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        var item = Assert.Single(listed.GetProperty("dumps").EnumerateArray());
        Assert.Equal(location, item.GetProperty("location").GetString());
        Assert.Equal(dump.Key, item.GetProperty("objectKey").GetString());
        Assert.Equal(dump.Sha256, item.GetProperty("sha256").GetString());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("remoteError").ValueKind);
        Assert.Contains(BucketTestHost.AppPrefix, listed.GetProperty("remote").GetString());
        return item;
    }

    /// <summary>Downloads of a dump held only in the bucket: raw (decompressed on the fly), zstd as stored, and its diagnostics.</summary>
    private static async Task AssertDownloadsFromTheBucketAsync(HttpClient client, CapturedDump dump, byte[] stored)
    {
        // Raw: decompressed on the fly, whole (no ranges on a compressed object), with its digest in a header.
        using (var rangeRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{dump.Id}"))
        {
            rangeRequest.Headers.Range = new RangeHeaderValue(100, 199);
            using var download = await client.SendAsync(rangeRequest, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(dump.SizeBytes, download.Content.Headers.ContentLength);
            Assert.Equal(dump.Sha256, download.Headers.GetValues("X-HeapDiag-Sha256").Single());
            Assert.Equal($"heapdump-{dump.Id}.dmp", download.Content.Headers.ContentDisposition?.FileNameStar ?? download.Content.Headers.ContentDisposition?.FileName);
            await using var body = await download.Content.ReadAsStreamAsync();
            Assert.Equal(dump.Sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(body)));
        }

        // zstd: the object as it is stored.
        using (var zstdRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{dump.Id}"))
        {
            zstdRequest.Headers.AcceptEncoding.ParseAdd("zstd");
            using var download = await client.SendAsync(zstdRequest);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal("zstd", Assert.Single(download.Content.Headers.ContentEncoding));
            Assert.Equal(stored, await download.Content.ReadAsByteArrayAsync());
        }

        using var diagnostics = await client.GetAsync($"/debug/heapdump/{dump.Id}/diagnostics");
        Assert.Equal(HttpStatusCode.OK, diagnostics.StatusCode);
        Assert.Equal("manual", (await diagnostics.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("trigger").GetString());
    }

    /// <summary>What analysis calls: a verified local copy, fetched once, then an ordinary local dump.</summary>
    private static async Task AssertFetchedBackAsync(TestHost host, CapturedDump dump)
    {
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        Assert.True(HeapDumpId.TryParse(dump.Id, out var dumpId));
        using (var lease = await store.LeaseLocalCopyAsync(dumpId, CancellationToken.None))
        {
            Assert.NotNull(lease);
            Assert.Equal(dump.DumpPath, lease.DumpPath);
            Assert.Equal(dump.SizeBytes, lease.SizeBytes);
            Assert.Equal(dump.Sha256, lease.Sha256);
            Assert.Equal(dump.Sha256, await Digest.Sha256OfFileAsync(lease.DumpPath));
            Assert.True(File.Exists(dump.DiagnosticsPath));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(lease.DumpPath));
            }
        }

        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.tmp"));
        await AssertListedAsync(host.Client, dump, "both");
    }

    private static async Task AssertEgressStatusAsync(HttpClient client, string id)
    {
        var monitor = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
        Assert.Equal(id, monitor.GetProperty("egress").GetProperty("lastUploadId").GetString());
        Assert.Equal(JsonValueKind.Null, monitor.GetProperty("egress").GetProperty("lastError").ValueKind);
        var capabilities = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");
        Assert.Equal("S3", capabilities.GetProperty("egress").GetProperty("provider").GetString());
        Assert.True(capabilities.GetProperty("egress").GetProperty("ok").GetBoolean(), capabilities.GetProperty("egress").ToString());
    }

    private static async Task AssertDeletedEverywhereAsync(S3rverServer s3, TestHost host, string id)
    {
        using var deleted = await host.Client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await s3.ListAsync());
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "heapdump-*"));
        using var gone = await host.Client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var deletedAgain = await host.Client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
    }

    [RequiresS3rverFact]
    public async Task DeleteLocalAfterUpload_keeps_only_the_bucket_copy_and_download_true_streams_it_back()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, settings: new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Egress:S3:DeleteLocalAfterUpload"] = "true",
            ["HeapDiagnostics:Egress:S3:Prefix"] = null,
        });
        var client = host.Client;

        using var response = await client.PostAsync("/debug/heapdump?type=mini&download=true", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "heapdump-*"));
        var stored = await s3.ListAsync();
        var dump = Assert.Single(stored, o => o.Key.EndsWith(".dmp.zst", StringComparison.Ordinal));
        Assert.StartsWith($"{TestHost.ApplicationName}/", dump.Key);
        Assert.Single(stored, o => o.Key.EndsWith(".diagnostics.json", StringComparison.Ordinal));
        Assert.Equal(Digest.Sha256(body), await Digest.Sha256OfZstdAsync(new MemoryStream(await s3.ReadAsync(dump.Key))));
        Assert.Equal(Digest.Sha256(body), response.Headers.GetValues("X-HeapDiag-Sha256").Single());
        Assert.EndsWith(Path.GetFileName(dump.Key)["heapdump-".Length..^".dmp.zst".Length], response.Headers.Location?.OriginalString);

        var listed = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        Assert.Equal("s3", Assert.Single(listed.GetProperty("dumps").EnumerateArray()).GetProperty("location").GetString());
    }

    [RequiresS3rverFact]
    public async Task A_server_stopped_mid_upload_is_reported_with_the_endpoint_and_bucket_and_the_local_copy_is_kept()
    {
        await using var s3 = await S3rverServer.StartAsync();

        // Random bytes do not compress, so the upload is several parts; the real server is killed right after it
        // accepted the first, as a crash or a network cut would. The SDK retries, then gives up.
        await using var host = await BucketTestHost.StartAsync(s3, writer: new SizedDumpWriter(4 * BucketTestHost.PartSizeBytes));
        var client = host.Client;
        new UploadWatch(host.Services).AfterUploadPart = parts =>
        {
            if (parts == 1)
            {
                s3.Kill();
            }
        };

        using var created = await client.PostAsync("/debug/heapdump?type=heap", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var result = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(result.GetProperty("success").GetBoolean());
        var id = result.GetProperty("id").GetString()!;
        var egress = result.GetProperty("egress");
        Assert.False(egress.GetProperty("success").GetBoolean());
        var error = egress.GetProperty("error").GetString()!;
        Assert.Contains(s3.ServiceUrl, error);
        Assert.Contains($"s3://{s3.Bucket}/", error);
        Assert.Contains("The dump is kept at", error);

        var dumpPath = result.GetProperty("heapPath").GetString()!;
        Assert.Equal(dumpPath, egress.GetProperty("location").GetString());
        Assert.Equal(result.GetProperty("sizeBytes").GetInt64(), new FileInfo(dumpPath).Length);
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.tmp"));

        var logged = Assert.Single(host.Logs.Entries, e => e.EventId.Id == 2202);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Contains(error, logged.Message);

        var monitor = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
        var lastError = monitor.GetProperty("egress").GetProperty("lastError");
        Assert.Equal(id, lastError.GetProperty("dumpId").GetString());
        Assert.Equal(error, lastError.GetProperty("message").GetString());

        // With the bucket down the list still shows the local dump, and says why the bucket is missing from it.
        var listed = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        Assert.Equal("local", Assert.Single(listed.GetProperty("dumps").EnumerateArray()).GetProperty("location").GetString());
        Assert.Contains(s3.ServiceUrl, listed.GetProperty("remoteError").GetString());
    }

    [RequiresS3rverFact]
    public async Task Wrong_credentials_warn_at_start_and_fail_the_upload_with_a_clear_error()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, new BasicAWSCredentials("NOT-A-KNOWN-KEY", "wrong-secret"));
        var client = host.Client;

        var warning = await host.Logs.SingleAsync(1004);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("InvalidAccessKeyId", warning.Message);
        Assert.Contains("AWS_ACCESS_KEY_ID", warning.Message);
        Assert.Contains(s3.ServiceUrl, warning.Message);

        using var created = await client.PostAsync("/debug/heapdump?type=triage", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var egress = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("egress");
        Assert.False(egress.GetProperty("success").GetBoolean());
        var error = egress.GetProperty("error").GetString()!;
        Assert.Contains("InvalidAccessKeyId", error);
        Assert.Contains($"bucket '{s3.Bucket}'", error);
        Assert.Contains(s3.ServiceUrl, error);
        Assert.DoesNotContain("wrong-secret", error);
        Assert.Single(Directory.GetFiles(host.DumpDirectory, "*.dmp"));

        var capabilities = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");
        Assert.False(capabilities.GetProperty("egress").GetProperty("ok").GetBoolean());
        Assert.Contains("InvalidAccessKeyId", capabilities.GetProperty("egress").GetProperty("problem").GetString());
        Assert.True(capabilities.GetProperty("canCapture").GetBoolean());
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("wrong-secret", StringComparison.Ordinal));
    }

    [RequiresS3rverFact]
    public async Task A_missing_bucket_warns_at_start_and_fails_the_upload_saying_to_create_it()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(s3, bucket: "no-such-bucket");
        var client = host.Client;

        var warning = await host.Logs.SingleAsync(1004);
        Assert.Contains("NoSuchBucket", warning.Message);
        Assert.Contains("Create the bucket 'no-such-bucket'", warning.Message);

        using var created = await client.PostAsync("/debug/heapdump?type=triage", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var egress = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("egress");
        Assert.False(egress.GetProperty("success").GetBoolean());
        var error = egress.GetProperty("error").GetString()!;
        Assert.Contains("NoSuchBucket", error);
        Assert.Contains("s3://no-such-bucket/", error);
        Assert.Contains("Create the bucket 'no-such-bucket'", error);
        Assert.Single(Directory.GetFiles(host.DumpDirectory, "*.dmp"));
    }
}
