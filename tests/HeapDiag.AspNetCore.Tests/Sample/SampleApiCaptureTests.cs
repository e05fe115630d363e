using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Serilog.Events;

namespace HeapDiag.AspNetCore.Tests.Sample;

/// <summary>A capture through SampleApi's real <c>Program</c> in memory: a real dump of this process, one at a time with the other captures.</summary>
[Collection(CaptureCollection.Name)]
public sealed class SampleApiCaptureTests
{
    [Fact]
    public async Task A_capture_after_a_leak_is_listed_served_and_logged_through_Serilog_with_its_properties()
    {
        await using var factory = new SampleApiFactory();
        using var client = factory.CreateAuthorizedClient();
        (await client.PostAsync("/leak/cache?mb=2", null)).Dispose();

        using var capture = await client.PostAsync("/debug/heapdump", null);

        Assert.Equal(HttpStatusCode.Created, capture.StatusCode);
        var result = await capture.Content.ReadFromJsonAsync<JsonElement>();
        var id = result.GetProperty("id").GetString()!;
        Assert.Equal($"/debug/heapdump/{id}", capture.Headers.Location?.OriginalString);
        Assert.StartsWith(factory.DumpDirectory, result.GetProperty("heapPath").GetString());
        var listed = (await client.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps");
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        var diagnostics = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{id}/diagnostics");
        Assert.Equal("manual", diagnostics.GetProperty("trigger").GetString());

        // HeapDiag's own events reach Serilog as structured events: the values are properties, not only text.
        var written = await factory.Events.WaitForAsync(e => e.MessageTemplate.Text.StartsWith("Heap dump {DumpId} written", StringComparison.Ordinal), "the 'dump written' event");
        Assert.Equal(LogEventLevel.Warning, written.Level);
        Assert.Equal(id, SampleApiInMemoryTests.Property(written, "DumpId"));
        Assert.Equal(result.GetProperty("sizeBytes").GetInt64(), Assert.IsType<long>(Assert.IsType<ScalarValue>(written.Properties["SizeBytes"]).Value));
        Assert.Equal(result.GetProperty("sha256").GetString(), SampleApiInMemoryTests.Property(written, "Sha256"));
        var eventId = Assert.IsType<StructureValue>(written.Properties["EventId"]);
        Assert.Equal(2002, Assert.IsType<ScalarValue>(eventId.Properties.Single(p => p.Name == "Id").Value).Value);

        using var delete = await client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        (await client.DeleteAsync("/leak")).Dispose();
    }
}
