using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// The Azure Blob tier against a real Azurite: uncompressed objects with ranges, SAS downloads, a damaged object, and the
/// three ways a container is unusable (no answer, a wrong key, no container), each answered clearly with nothing lost
/// locally. The writer writes a file instead of a dump (only the bytes matter here).
/// </summary>
public sealed class AzureBlobStoreTests
{
    private const long DumpBytes = (6L << 20) + 12345;

    [RequiresAzuriteFact("curl")]
    public async Task Uncompressed_blobs_serve_ranges_and_a_SAS_download_redirects_to_a_url_curl_fetches_whole()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var writer = await BucketTestHost.StartAsync(azurite, writer: new SizedDumpWriter(DumpBytes), settings: new Dictionary<string, string?>
        {
            [$"{azurite.Section}:Compression"] = "none",
            [$"{azurite.Section}:DeleteLocalAfterUpload"] = "true",
        });
        var result = await writer.CaptureResultAsync();
        var (id, sha256, key) = (result.GetProperty("id").GetString()!, result.GetProperty("sha256").GetString()!, result.GetProperty("egress").GetProperty("key").GetString()!);
        Assert.EndsWith($"heapdump-{id}.dmp", key);
        var content = await azurite.ReadAsync(key);
        Assert.Equal(sha256, Digest.Sha256(content));

        // Held only in the container: single ranges go to the blob service as they are (a suffix one too).
        await AssertRangeAsync(writer.Client, id, new RangeHeaderValue(100, 199), content[100..200], $"bytes 100-199/{DumpBytes}");
        await AssertRangeAsync(writer.Client, id, new RangeHeaderValue(null, 50), content[^50..], $"bytes {DumpBytes - 50}-{DumpBytes - 1}/{DumpBytes}");

        // Another instance with SasDownloads: a 307 to a read-only SAS URL of the blob, which curl follows outside the app.
        await using var reader = await BucketTestHost.StartAsync(azurite, settings: new Dictionary<string, string?> { [$"{azurite.Section}:SasDownloads"] = "true" });
        using var redirect = await reader.Client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        var url = redirect.Headers.Location!.AbsoluteUri;
        Assert.StartsWith($"{azurite.Location(key)}?", url);
        Assert.Contains("sp=r&", url);
        var file = Path.Combine(reader.DumpDirectory, "sas.dmp");
        var curl = Programs.Run("curl", "-sS", "-f", "-D", file + ".headers", "-o", file, url);
        Assert.True(curl.ExitCode == 0, curl.Output);
        Assert.Equal(sha256, await Digest.Sha256OfFileAsync(file));
        var headers = await File.ReadAllTextAsync(file + ".headers");
        Assert.Contains($"x-ms-meta-sha256: {sha256}", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"filename=\"heapdump-{id}.dmp\"", headers);
        Assert.DoesNotContain(AzuriteServer.AccountKey, string.Join('\n', reader.Logs.Entries.Select(e => e.Message)));
    }

    [RequiresAzuriteFact]
    public async Task A_blob_changed_in_the_container_is_refused_on_fetch_back_by_its_digest_and_nothing_is_kept()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(azurite, writer: new SizedDumpWriter(1 << 20, compressible: true));
        var store = host.Services.GetRequiredService<HeapDumpStore>();
        var result = await host.CaptureResultAsync();
        var (id, sha256, key) = (result.GetProperty("id").GetString()!, result.GetProperty("sha256").GetString()!, result.GetProperty("egress").GetProperty("key").GetString()!);
        Assert.True(HeapDumpId.TryParse(id, out var dumpId));
        Assert.True(store.Delete(dumpId));

        // Valid zstd of other bytes, the metadata kept: only the digest recorded at upload can tell.
        using (var other = new MemoryStream())
        {
            await using (var zstd = DumpCodec.Compress(other, leaveOpen: true))
            {
                await zstd.WriteAsync(new byte[1 << 20]);
            }

            await azurite.OverwriteAsync(key, other.ToArray());
        }

        var error = await Assert.ThrowsAsync<HeapDumpStoreException>(() => store.LeaseLocalCopyAsync(dumpId, CancellationToken.None));

        Assert.Contains($"{sha256} was recorded at its upload", error.Message);
        Assert.Contains(azurite.Endpoint, error.Message);
        Assert.NotNull(error.Fix);
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, $"heapdump-{id}.*"));
    }

    [RequiresAzuriteFact]
    public async Task An_endpoint_nothing_listens_on_warns_at_start_naming_the_setting_and_every_dump_stays_local()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        var endpoint = AzuriteServer.BlobEndpoint(NpmServer.FreePort());
        await using var host = await BucketTestHost.StartAsync(azurite, writer: new SizedDumpWriter(1 << 20), settings: new Dictionary<string, string?>
        {
            [$"{azurite.Section}:ConnectionString"] = AzuriteServer.ConnectionString(endpoint),
        });

        var warning = await host.Logs.SingleAsync(1004);
        Assert.Contains(endpoint, warning.Message);
        Assert.Contains("HeapDiagnostics:Egress:AzureBlob:ConnectionString", warning.Message);

        var error = await AssertUploadFailsKeepingTheDumpAsync(host, endpoint);
        Assert.Contains("reachable", error);
        var listed = await host.Client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        Assert.Equal("local", Assert.Single(listed.GetProperty("dumps").EnumerateArray()).GetProperty("location").GetString());
        Assert.Contains(endpoint, listed.GetProperty("remoteError").GetString());
    }

    [RequiresAzuriteFact]
    public async Task A_wrong_account_key_warns_at_start_and_fails_the_upload_saying_which_setting_holds_it_without_showing_it()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        var wrongKey = Convert.ToBase64String("not the development account's key, 64 bytes long...............!"u8);
        await using var host = await BucketTestHost.StartAsync(azurite, writer: new SizedDumpWriter(1 << 20), settings: new Dictionary<string, string?>
        {
            [$"{azurite.Section}:ConnectionString"] = AzuriteServer.ConnectionString(azurite.Endpoint, wrongKey),
        });

        var warning = await host.Logs.SingleAsync(1004);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("HTTP 403", warning.Message);
        Assert.Contains("Check the account key in HeapDiagnostics:Egress:AzureBlob:ConnectionString", warning.Message);

        var error = await AssertUploadFailsKeepingTheDumpAsync(host, azurite.Endpoint);
        Assert.Contains("HTTP 403", error);
        var capabilities = await host.Client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");
        Assert.False(capabilities.GetProperty("egress").GetProperty("ok").GetBoolean());
        Assert.Contains("HTTP 403", capabilities.GetProperty("egress").GetProperty("problem").GetString());
        Assert.True(capabilities.GetProperty("canCapture").GetBoolean());
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains(wrongKey, StringComparison.Ordinal) || e.Message.Contains("AccountKey", StringComparison.Ordinal));
    }

    [RequiresAzuriteFact]
    public async Task A_missing_container_warns_at_start_and_fails_the_upload_saying_to_create_it()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await using var host = await BucketTestHost.StartAsync(azurite, bucket: "no-such-container", writer: new SizedDumpWriter(1 << 20));

        var warning = await host.Logs.SingleAsync(1004);
        Assert.Contains("ContainerNotFound", warning.Message);
        Assert.Contains("Create the container 'no-such-container'", warning.Message);

        var error = await AssertUploadFailsKeepingTheDumpAsync(host, $"{azurite.Endpoint}/no-such-container/");
        Assert.Contains("ContainerNotFound", error);
        Assert.Contains("Create the container 'no-such-container'", error);
    }

    /// <summary>A capture succeeds while its upload fails: the error names <paramref name="expected"/>, the dump stays whole on disk.</summary>
    private static async Task<string> AssertUploadFailsKeepingTheDumpAsync(TestHost host, string expected)
    {
        var result = await host.CaptureResultAsync();
        var egress = result.GetProperty("egress");
        Assert.False(egress.GetProperty("success").GetBoolean());
        var error = egress.GetProperty("error").GetString()!;
        Assert.Contains(expected, error);
        Assert.Contains("The dump is kept at", error);
        Assert.Equal(result.GetProperty("sizeBytes").GetInt64(), new FileInfo(result.GetProperty("heapPath").GetString()!).Length);
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.tmp"));
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 2202 && e.Message.Contains(error, StringComparison.Ordinal));
        return error;
    }

    private static async Task AssertRangeAsync(HttpClient client, string id, RangeHeaderValue range, byte[] expected, string contentRange)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{id}") { Headers = { Range = range } };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(contentRange, response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
    }
}
