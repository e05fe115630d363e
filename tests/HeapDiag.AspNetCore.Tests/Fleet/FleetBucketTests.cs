using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Fleet;

/// <summary><c>GET /fleet</c> over real storage servers, seeded with other instances' records and with what is not HeapDiag's.</summary>
public sealed class FleetBucketTests
{
    [RequiresS3rverFact]
    public async Task S3_fleet_groups_leaks_across_instances_ignores_foreign_and_damaged_objects_and_marks_instances_gone()
    {
        await using var s3 = await S3rverServer.StartAsync();
        await FleetSeededStory.TellAsync(s3);
    }

    [RequiresAzuriteFact]
    public async Task Azure_fleet_groups_leaks_across_instances_ignores_foreign_and_damaged_objects_and_marks_instances_gone()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        await FleetSeededStory.TellAsync(azurite);
    }

    [RequiresS3rverFact]
    public async Task S3_fleet_lists_past_one_page_of_1000_keys()
    {
        await using var s3 = await S3rverServer.StartAsync();
        using var throttle = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, 1005).Select(async i =>
        {
            await throttle.WaitAsync();
            try
            {
                await s3.PutAsync($"team/dumps/other/{i:D4}.bin", [0]);
            }
            finally
            {
                throttle.Release();
            }
        }));
        await using var host = await Storage.BucketTestHost.StartAsync(s3);

        var scan = (await host.Client.GetFromJsonAsync<JsonElement>("/debug/fleet")).GetProperty("scan");

        Assert.True(scan.GetProperty("objectsListed").GetInt32() >= 1005, scan.ToString());
        Assert.Equal(1005, scan.GetProperty("ignoredObjects").GetInt32());
    }

    [Fact]
    public async Task Without_a_bucket_fleet_answers_a_problem_naming_the_settings_to_add()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.Client.GetAsync("/debug/fleet");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("NoBucket", problem.GetProperty("failure").GetString());
        Assert.Contains("HeapDiagnostics:Egress:Provider", problem.GetProperty("detail").GetString());
        using var anonymous = await host.CreateClient().GetAsync("/debug/fleet");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }
}
