using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// What the bucket tier does, told once for every provider (s3rver, Azurite): a real dump of this process goes up as zstd
/// with its digest, is listed, downloaded and fetched back from the bucket alone, and deleted everywhere.
/// </summary>
internal static class BucketCaptureStory
{
    public static async Task TellAsync(IBucketServer server, TestHost host)
    {
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
        var stored = await AssertUploadedAsync(server, host, instance, result.GetProperty("egress"), dump);
        await AssertListedAsync(host.Client, dump, "both");

        // The instance that wrote it is gone (its disk with it): the bucket still serves the dump, its size and digest.
        foreach (var file in Directory.GetFiles(host.DumpDirectory, $"heapdump-{dump.Id}.*"))
        {
            File.Delete(file);
        }

        var item = await AssertListedAsync(host.Client, dump, server.LocationName);
        Assert.Equal(dump.SizeBytes, item.GetProperty("sizeBytes").GetInt64());
        Assert.Equal($"/debug/heapdump/{dump.Id}/diagnostics", item.GetProperty("links").GetProperty("diagnostics").GetString());
        await AssertDownloadsFromTheBucketAsync(host.Client, dump, stored);
        await AssertFetchedBackAsync(host, dump);
        await AssertEgressStatusAsync(server, host.Client, dump.Id);
        await AssertDeletedEverywhereAsync(server, host, dump.Id);
    }

    /// <summary>With DeleteLocalAfterUpload only the bucket keeps the dump, and <c>download=true</c> streams it back from there.</summary>
    public static async Task DeleteLocalAfterUploadAsync(IBucketServer server)
    {
        await using var host = await BucketTestHost.StartAsync(server, settings: new Dictionary<string, string?>
        {
            [$"{server.Section}:DeleteLocalAfterUpload"] = "true",
            [$"{server.Section}:Prefix"] = null,
        });
        var client = host.Client;

        using var response = await client.PostAsync("/debug/heapdump?type=mini&download=true", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "heapdump-*"));
        var stored = await server.ListKeysAsync();
        var dump = Assert.Single(stored, key => key.EndsWith(".dmp.zst", StringComparison.Ordinal));
        Assert.StartsWith($"{TestHost.ApplicationName}/", dump);
        Assert.Single(stored, key => key.EndsWith(".diagnostics.json", StringComparison.Ordinal));
        Assert.Equal(Digest.Sha256(body), await Digest.Sha256OfZstdAsync(new MemoryStream(await server.ReadAsync(dump))));
        Assert.Equal(Digest.Sha256(body), response.Headers.GetValues("X-HeapDiag-Sha256").Single());
        Assert.EndsWith(Path.GetFileName(dump)["heapdump-".Length..^".dmp.zst".Length], response.Headers.Location?.OriginalString);

        var listed = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        Assert.Equal(server.LocationName, Assert.Single(listed.GetProperty("dumps").EnumerateArray()).GetProperty("location").GetString());
    }

    /// <summary>What one capture answered: its id, files, size, digest, and the key its upload should have.</summary>
    private sealed record CapturedDump(string Id, string DumpPath, string DiagnosticsPath, long SizeBytes, string Sha256, string Key);

    /// <summary>The upload: zstd that decodes to the very dump, its digest on disk and in the metadata; returns the object's bytes.</summary>
    private static async Task<byte[]> AssertUploadedAsync(IBucketServer server, TestHost host, ProcessInstance instance, JsonElement egress, CapturedDump dump)
    {
        Assert.Equal(server.Provider, egress.GetProperty("provider").GetString());
        Assert.True(egress.GetProperty("success").GetBoolean(), egress.GetProperty("error").GetString());
        Assert.Equal(dump.Key, egress.GetProperty("key").GetString());
        Assert.Equal(server.Location(dump.Key), egress.GetProperty("location").GetString());
        Assert.Equal("zstd", egress.GetProperty("compression").GetString());
        Assert.False(egress.GetProperty("localDeleted").GetBoolean());

        // The digest is of the dump on disk, written beside it in sha256sum's format and into its diagnostics.
        Assert.Equal(await Digest.Sha256OfFileAsync(dump.DumpPath), dump.Sha256);
        Assert.Equal($"{dump.Sha256}  heapdump-{dump.Id}.dmp\n", await File.ReadAllTextAsync(Path.Combine(host.DumpDirectory, $"heapdump-{dump.Id}.sha256")));
        Assert.Equal(dump.Sha256, JsonDocument.Parse(await File.ReadAllBytesAsync(dump.DiagnosticsPath)).RootElement.GetProperty("dumpSha256").GetString());

        // The bucket holds zstd that decodes to the very dump (not aws-chunked framing), with the digest as metadata.
        var stored = await server.ReadAsync(dump.Key);
        Assert.Equal(egress.GetProperty("storedBytes").GetInt64(), stored.Length);
        Assert.True(stored.Length < dump.SizeBytes, $"{stored.Length} stored bytes for a {dump.SizeBytes}-byte dump");
        Assert.Equal(dump.Sha256, await Digest.Sha256OfZstdAsync(new MemoryStream(stored)));
        var metadata = await server.MetadataAsync(dump.Key);
        string Named(params string[] words) => metadata[string.Join(server.MetadataSeparator, words)];
        Assert.Equal(dump.Sha256, Named("sha256"));
        Assert.Equal(dump.SizeBytes.ToString(CultureInfo.InvariantCulture), Named("size", "bytes"));
        Assert.Equal("manual", Named("trigger"));
        Assert.Equal("0", Named("dump", "number"));
        Assert.Equal("mini", Named("dump", "type"));
        Assert.Equal($"{instance.ProcessId}-{instance.SessionId}", Named("instance"));
        Assert.True(long.Parse(Named("working", "set", "bytes"), CultureInfo.InvariantCulture) > 0);
        Assert.True(long.Parse(Named("gc", "heap", "size", "bytes"), CultureInfo.InvariantCulture) > 0);

        var diagnosticsKey = dump.Key.Replace(".dmp.zst", ".diagnostics.json", StringComparison.Ordinal);
        Assert.Equal(Digest.Sha256(await File.ReadAllBytesAsync(dump.DiagnosticsPath)), Digest.Sha256(await server.ReadAsync(diagnosticsKey)));
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

    private static async Task AssertEgressStatusAsync(IBucketServer server, HttpClient client, string id)
    {
        var monitor = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
        Assert.Equal(id, monitor.GetProperty("egress").GetProperty("lastUploadId").GetString());
        Assert.Equal(JsonValueKind.Null, monitor.GetProperty("egress").GetProperty("lastError").ValueKind);
        var capabilities = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");
        Assert.Equal(server.Provider, capabilities.GetProperty("egress").GetProperty("provider").GetString());
        Assert.True(capabilities.GetProperty("egress").GetProperty("ok").GetBoolean(), capabilities.GetProperty("egress").ToString());
    }

    private static async Task AssertDeletedEverywhereAsync(IBucketServer server, TestHost host, string id)
    {
        using var deleted = await host.Client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        // Only the instance's own record for the fleet view stays.
        Assert.All(await server.ListKeysAsync(), key => Assert.EndsWith("/instance.json.zst", key, StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "heapdump-*"));
        using var gone = await host.Client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var deletedAgain = await host.Client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
    }
}
