using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace HeapDiag.AspNetCore.Tests.Endpoints;

/// <summary>Summary, diff and retainers over HTTP, on real dumps of this process.</summary>
[Collection(CaptureCollection.Name)]
public sealed class AnalysisEndpointTests
{
    /// <summary>Held by a static field, as a leak's objects are; the retainers must name it.</summary>
    private static readonly List<AnalysisMarker> Retained = [];

    [Fact]
    public async Task Summary_diff_and_retainers_give_exact_counts_and_name_the_static_field()
    {
        const int first = 4_321;
        const int added = 1_234;
        await using var host = await TestHost.StartAsync();
        var client = host.Client;
        lock (Retained)
        {
            Retained.Clear();
            Retained.AddRange(Enumerable.Range(0, first).Select(i => new AnalysisMarker(i)));
        }

        var before = await host.CaptureAsync();
        lock (Retained)
        {
            Retained.AddRange(Enumerable.Range(0, added).Select(i => new AnalysisMarker(i)));
        }

        var after = await host.CaptureAsync();

        using var summaryResponse = await client.GetAsync($"/debug/heapdump/{before}/summary?top=1000");
        Assert.Equal(HttpStatusCode.OK, summaryResponse.StatusCode);
        var summaryJson = await summaryResponse.Content.ReadAsStringAsync();
        var summary = JsonDocument.Parse(summaryJson).RootElement;
        Assert.Equal("live", summary.GetProperty("counting").GetString());
        Assert.Equal(first, MarkerCount(summary.GetProperty("types")));
        Assert.True(File.Exists(Path.Combine(host.DumpDirectory, $"heapdump-{before}.summary.json")), "the summary is cached beside the dump");
        Assert.Equal(summaryJson, await client.GetStringAsync($"/debug/heapdump/{before}/summary?top=1000"));

        var diff = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{after}/diff/{before}?top=1000");
        var markerDelta = diff.GetProperty("types").EnumerateArray().Single(t => t.GetProperty("name").GetString() == typeof(AnalysisMarker).FullName);
        Assert.Equal(added, markerDelta.GetProperty("countDelta").GetInt64());
        Assert.Equal(first, markerDelta.GetProperty("countBefore").GetInt64());

        var retainers = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{after}/retainers?type={typeof(AnalysisMarker).FullName}");
        Assert.Equal(first + added, retainers.GetProperty("instanceCount").GetInt64());
        var top = retainers.GetProperty("paths")[0];
        Assert.Equal("static field", top.GetProperty("rootKind").GetString());
        Assert.Contains($"{nameof(AnalysisEndpointTests)}.{nameof(Retained)}", top.GetProperty("root").GetString());

        // A truncated copy and a text file in the store are answered with 422 and the reason.
        var truncatedId = "20261124T000000001Z-1-manual-0-heap";
        var textId = "20261124T000000002Z-1-manual-0-heap";
        await using (var source = File.OpenRead(Path.Combine(host.DumpDirectory, $"heapdump-{after}.dmp")))
        await using (var truncated = File.Create(Path.Combine(host.DumpDirectory, $"heapdump-{truncatedId}.dmp")))
        {
            var buffer = new byte[1 << 20];
            await source.ReadExactlyAsync(buffer);
            await truncated.WriteAsync(buffer);
        }

        await File.WriteAllTextAsync(Path.Combine(host.DumpDirectory, $"heapdump-{textId}.dmp"), "this is not a dump\n");
        foreach (var id in new[] { truncatedId, textId })
        {
            using var unreadable = await client.GetAsync($"/debug/heapdump/{id}/summary");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, unreadable.StatusCode);
            var problem = await unreadable.Content.ReadFromJsonAsync<ProblemDetails>();
            Assert.False(string.IsNullOrWhiteSpace(problem!.Detail));
        }

        GC.KeepAlive(Retained);
    }

    [Fact]
    public async Task Retainers_of_an_unknown_type_are_not_found_and_of_an_ambiguous_name_list_the_candidates()
    {
        await using var host = await TestHost.StartAsync();
        Assert.Equal(2, Twins.Held.Length);
        var id = await host.CaptureAsync();

        using var unknown = await host.Client.GetAsync($"/debug/heapdump/{id}/retainers?type=NoSuchTypeAnywhere");
        var notFound = await unknown.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("Type not found", notFound!.Title);
        Assert.Contains("NoSuchTypeAnywhere", notFound.Detail);

        using var ambiguous = await host.Client.GetAsync($"/debug/heapdump/{id}/retainers?type=Twin");
        var problem = await ambiguous.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.BadRequest, ambiguous.StatusCode);
        Assert.Equal("Ambiguous type name", problem.GetProperty("title").GetString());
        Assert.Equal(
            [typeof(First.Twin).FullName, typeof(Second.Twin).FullName],
            problem.GetProperty("candidates").EnumerateArray().Select(candidate => candidate.GetString()).Order(StringComparer.Ordinal));
        GC.KeepAlive(Twins.Held);
    }

    [Theory]
    [InlineData("/debug/heapdump/20261124T000000001Z-1-manual-0-heap/summary", HttpStatusCode.NotFound)]
    [InlineData("/debug/heapdump/20261124T000000001Z-1-manual-0-heap/summary?top=0", HttpStatusCode.BadRequest)]
    [InlineData("/debug/heapdump/20261124T000000001Z-1-manual-0-heap/summary?top=many", HttpStatusCode.BadRequest)]
    [InlineData("/debug/heapdump/20261124T000000001Z-1-manual-0-heap/retainers", HttpStatusCode.BadRequest)]
    [InlineData("/debug/heapdump/20261124T000000001Z-1-manual-0-heap/retainers?type=Order", HttpStatusCode.NotFound)]
    [InlineData("/debug/heapdump/20261124T000000001Z-1-manual-0-heap/diff/..%2F..", HttpStatusCode.BadRequest)]
    [InlineData("/debug/heapdump/not-an-id/summary", HttpStatusCode.BadRequest)]
    public async Task Bad_analysis_requests_are_answered_with_a_problem(string url, HttpStatusCode expected)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.Client.GetAsync(url);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static long MarkerCount(JsonElement types) =>
        types.EnumerateArray().Single(t => t.GetProperty("name").GetString() == typeof(AnalysisMarker).FullName).GetProperty("count").GetInt64();
}

/// <summary>A type nothing else allocates.</summary>
public sealed record AnalysisMarker(int Index);
