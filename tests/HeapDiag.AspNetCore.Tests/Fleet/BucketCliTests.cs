using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Fleet;

/// <summary>
/// <c>heapdiag suspects s3://…</c> as its own process with the AWS SDK's credential chain (environment variables) and
/// <c>--endpoint</c>, on a dump a SampleApi process shipped to s3rver: the same leak, by fingerprint, as the app found.
/// </summary>
public sealed class BucketCliTests
{
    [RequiresS3rverFact]
    public async Task Heapdiag_suspects_reads_a_shipped_dump_from_the_bucket_and_finds_the_apps_own_fingerprint()
    {
        await using var s3 = await S3rverServer.StartAsync();
        var dumps = Directory.CreateTempSubdirectory("heapdiag-cli-s3-").FullName;
        try
        {
            string key;
            string fingerprint;
            await using (var app = await SampleApiProcess.StartAsync(FleetProcessTests.Environment(s3), dumps))
            {
                using var client = app.CreateAuthorizedClient();
                (await client.PostAsync("/leak/cache?mb=30", null)).Dispose();
                using var created = await client.PostAsync("/debug/heapdump?type=heap", null);
                var result = await created.Content.ReadFromJsonAsync<JsonElement>();
                Assert.True(created.StatusCode == HttpStatusCode.Created, result.ToString());
                key = result.GetProperty("egress").GetProperty("key").GetString()!;
                var suspects = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{result.GetProperty("id").GetString()}/suspects");
                fingerprint = suspects.GetProperty("suspects")[0].GetProperty("fingerprint").GetString()!;
            }

            var (exit, output, error) = await RunAsync("suspects", $"s3://{s3.Bucket}/{key}", "--endpoint", s3.ServiceUrl, "--json");

            Assert.True(exit == 0, error);
            var report = JsonDocument.Parse(output).RootElement;
            Assert.Equal(fingerprint, report.GetProperty("suspects")[0].GetProperty("fingerprint").GetString());
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "heapdiag-*-heapdump-*"));

            var missing = await RunAsync("suspects", $"s3://{s3.Bucket}/prod/nothing-here.dmp.zst", "--endpoint", s3.ServiceUrl);
            Assert.Equal(2, missing.Exit);
            Assert.Contains($"s3://{s3.Bucket}/prod/nothing-here.dmp.zst could not be downloaded", missing.Error);
        }
        finally
        {
            Directory.Delete(dumps, recursive: true);
        }
    }

    /// <summary>heapdiag as a process (as a person runs it), with only the SDK's environment variables for credentials.</summary>
    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "heapdiag.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["AWS_ACCESS_KEY_ID"] = S3rverServer.AccessKey;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = S3rverServer.SecretKey;
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        using var process = Process.Start(start)!;
        var (output, error) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }
}
