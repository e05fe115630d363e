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
