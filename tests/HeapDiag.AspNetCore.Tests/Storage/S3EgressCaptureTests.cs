using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.Runtime;
using HeapDiag.AspNetCore.Tests.Infrastructure;
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

        await BucketCaptureStory.TellAsync(s3, host);
    }

    [RequiresS3rverFact]
    public async Task DeleteLocalAfterUpload_keeps_only_the_bucket_copy_and_download_true_streams_it_back()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await BucketCaptureStory.DeleteLocalAfterUploadAsync(s3);
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
