using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.Analysis.Tests;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Fleet;

/// <summary>
/// <c>heapdiag suspects s3://…</c> as its own process with the AWS SDK's credential chain (environment variables) and
/// <c>--endpoint</c>, on a dump a SampleApi process shipped to s3rver: the same leak, by fingerprint, as the app found; and
/// <c>heapdiag fleet s3://…</c> over a bucket seeded as <see cref="FleetSeededStory"/> seeds it.
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

    [RequiresS3rverFact]
    public async Task Heapdiag_fleet_prints_the_grouped_view_of_a_seeded_bucket_as_get_fleet_does()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await FleetSeededStory.SeedAsync(s3);
        var root = $"s3://{s3.Bucket}/{FleetSeededStory.Root.TrimEnd('/')}";

        var (exit, output, error) = await RunAsync("fleet", root, "--endpoint", s3.ServiceUrl, "--json");

        Assert.True(exit == 0, error);
        var fleet = JsonDocument.Parse(output).RootElement;
        Assert.Equal(3, fleet.GetProperty("instanceCount").GetInt32());
        Assert.Equal(0, fleet.GetProperty("liveCount").GetInt32());
        var scan = fleet.GetProperty("scan");
        Assert.Equal(3, scan.GetProperty("ignoredObjects").GetInt32());
        Assert.Equal(3, scan.GetProperty("damagedRecords").GetInt32());
        Assert.Equal(1 + 6, scan.GetProperty("requests").GetInt32());
        var leaks = fleet.GetProperty("leaks").EnumerateArray().ToList();
        Assert.Equal([FleetSeededStory.SameLeak, FleetSeededStory.OtherLeak], leaks.Select(leak => leak.GetProperty("fingerprint").GetString()));
        var growths = leaks[0].GetProperty("instances").EnumerateArray().ToDictionary(on => on.GetProperty("instance").GetString()!, on => on.GetProperty("growthBytes").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["101-aaaa"] = 300L << 20, ["102-bbbb"] = 100L << 20 }, growths);

        var text = await RunAsync("fleet", root, "--endpoint", s3.ServiceUrl, "--app", "orders");
        Assert.True(text.Exit == 0, text.Error);
        Assert.Contains("2 instances (0 live)", text.Output);
        Assert.Contains($"{FleetSeededStory.SameLeak}  object  Cache retains 250 MB", text.Output);
        Assert.Contains("+300.0 MiB/h", text.Output);
        Assert.DoesNotContain(FleetSeededStory.OtherLeak, text.Output);

        var missing = await RunAsync("fleet", "s3://no-such-bucket/x", "--endpoint", s3.ServiceUrl);
        Assert.Equal(2, missing.Exit);
        Assert.Contains("s3://no-such-bucket/x could not be read", missing.Error);
        Assert.Contains("NoSuchBucket", missing.Error);
    }

    [RequiresAzuriteFact]
    public async Task Heapdiag_fleet_reads_an_azure_container_with_the_connection_string_from_the_environment()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await FleetSeededStory.SeedAsync(azurite);
        var environment = new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.ConnectionString() };

        var (exit, output, error) = await RunWithAsync(environment, "fleet", $"azblob://{AzuriteServer.Account}/{azurite.Container}/{FleetSeededStory.Root}", "--json");

        Assert.True(exit == 0, error);
        var fleet = JsonDocument.Parse(output).RootElement;
        Assert.Equal(3, fleet.GetProperty("instanceCount").GetInt32());
        Assert.Equal([FleetSeededStory.SameLeak, FleetSeededStory.OtherLeak], fleet.GetProperty("leaks").EnumerateArray().Select(leak => leak.GetProperty("fingerprint").GetString()));
        Assert.Equal(3, fleet.GetProperty("scan").GetProperty("damagedRecords").GetInt32());
        Assert.DoesNotContain(AzuriteServer.AccountKey, output + error);
    }

    /// <summary>heapdiag as a process (as a person runs it), with only the SDK's environment variables for credentials.</summary>
    private static Task<(int Exit, string Output, string Error)> RunAsync(params string[] arguments) => RunWithAsync(new Dictionary<string, string>(), arguments);

    private static async Task<(int Exit, string Output, string Error)> RunWithAsync(Dictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "heapdiag.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["AWS_ACCESS_KEY_ID"] = S3rverServer.AccessKey;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = S3rverServer.SecretKey;
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return await ChildProcess.RunAsync(start);
    }
}
