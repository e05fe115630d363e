using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>The whole loop in a real SampleApi process: a leak grows memory past the threshold and one dump appears.</summary>
public sealed class AutoDumpEndToEndTests
{
    private const long Mb = 1024 * 1024;

    [Fact]
    public async Task A_leak_past_the_threshold_gives_exactly_one_auto_dump_and_further_growth_none()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["HeapDiagnostics__Monitor__Interval"] = "00:00:01",
            ["HeapDiagnostics__Monitor__ThresholdBytes"] = (400 * Mb).ToString(),
        });
        using var client = app.CreateAuthorizedClient();
        try
        {
            var idle = (await client.GetFromJsonAsync<JsonElement>("/debug/monitor")).GetProperty("lastSample").GetProperty("workingSetBytes").GetInt64();
            Assert.True(idle < 300 * Mb, $"SampleApi idles at {idle / Mb} MB, too close to the 400 MB threshold for this test");

            using (var leak = await client.PostAsync("/leak/cache?mb=450", null))
            {
                Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
            }

            var status = await WaitForAsync(client, s => s.GetProperty("autoDumps").GetArrayLength() >= 1, TimeSpan.FromMinutes(2));
            var autoDump = Assert.Single(status.GetProperty("autoDumps").EnumerateArray());
            Assert.True(autoDump.GetProperty("success").GetBoolean(), autoDump.ToString());
            Assert.Equal(1, autoDump.GetProperty("dumpNumber").GetInt32());

            // More growth inside the limits (the one-hour cooldown): no second dump.
            using (var more = await client.PostAsync("/leak/cache?mb=150", null))
            {
                Assert.Equal(HttpStatusCode.OK, more.StatusCode);
            }

            await WaitForAsync(client, s => s.GetProperty("lastSample").GetProperty("workingSetBytes").GetInt64() > 600 * Mb, TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromSeconds(3));

            status = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
            Assert.Single(status.GetProperty("autoDumps").EnumerateArray());
            Assert.NotEqual(JsonValueKind.Null, status.GetProperty("nextAllowedAt").ValueKind);

            var dumps = (await client.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps").EnumerateArray().ToList();
            var dump = Assert.Single(dumps);
            Assert.Equal("auto", dump.GetProperty("trigger").GetString());
            Assert.Equal(1, dump.GetProperty("dumpNumber").GetInt32());
            Assert.Equal(autoDump.GetProperty("id").GetString(), dump.GetProperty("id").GetString());

            var diagnostics = await client.GetFromJsonAsync<JsonElement>($"/debug/heapdump/{dump.GetProperty("id").GetString()}/diagnostics");
            Assert.Equal("auto", diagnostics.GetProperty("trigger").GetString());
            Assert.Equal(1, diagnostics.GetProperty("dumpNumber").GetInt32());
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient client, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement status;
        do
        {
            status = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
            if (condition(status))
            {
                return status;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"Condition not met within {timeout}: {status}");
        return status;
    }
}
