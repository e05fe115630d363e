using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Fleet;

/// <summary>
/// Three SampleApi processes sharing one s3rver bucket, configured only through the environment: two leak through the cache,
/// one through events. Any of them answers <c>GET /fleet</c> for all, and an instance killed is gone three (short) intervals later.
/// </summary>
public sealed class FleetProcessTests
{
    private const string Secret = "heapdiag-fleet-secret-never-written-5c1e";

    [RequiresS3rverFact]
    public async Task Three_processes_show_two_leaks_one_on_two_instances_with_growth_and_a_killed_one_goes()
    {
        await using var s3 = await S3rverServer.StartAsync();
        var directories = new List<string>();
        var apps = new List<SampleApiProcess>();
        try
        {
            foreach (var _ in Enumerable.Range(0, 3))
            {
                directories.Add(Directory.CreateTempSubdirectory("heapdiag-fleet-").FullName);
                apps.Add(await SampleApiProcess.StartAsync(Environment(s3), directories[^1]));
            }

            var (cacheA, cacheB, events) = (apps[0], apps[1], apps[2]);
            await LeakAndAnalyseAsync(cacheA, "cache", 20, 60);
            await LeakAndAnalyseAsync(cacheB, "cache", 20, 40);
            await LeakAndAnalyseAsync(events, "events", 30);

            using var client = events.CreateAuthorizedClient();
            var fleet = await PollFleetAsync(client, view => view.GetProperty("instances").EnumerateArray().Count(i => i.GetProperty("dumps").EnumerateArray().Any(d => d.GetProperty("leaks").ValueKind == JsonValueKind.Array)) == 3, "three instances with analysed dumps");
            Assert.Equal(3, fleet.GetProperty("instanceCount").GetInt32());
            Assert.Equal(3, fleet.GetProperty("liveCount").GetInt32());
            var leaks = fleet.GetProperty("leaks").EnumerateArray().ToList();
            var shared = Assert.Single(leaks, leak => leak.GetProperty("instanceCount").GetInt32() == 2);
            var sharedOn = shared.GetProperty("instances").EnumerateArray().ToList();
            Assert.Equal(Pids(cacheA, cacheB), sharedOn.Select(on => Pid(on)).Order());
            Assert.All(sharedOn, on => Assert.True(on.GetProperty("growthBytes").GetInt64() > 10L << 20, on.ToString()));
            Assert.Contains(leaks, leak => leak.GetProperty("instances").EnumerateArray().Select(Pid).SequenceEqual([events.ProcessId]));
            Assert.Equal(2, leaks.Count);

            // Killed: gone once its record is older than three intervals of one second (and the 10 s cache has passed).
            var killed = cacheA.ProcessId;
            await cacheA.DisposeAsync();
            await PollFleetAsync(client, view => view.GetProperty("liveCount").GetInt32() == 2
                && view.GetProperty("instances").EnumerateArray().Single(i => Pid(i) == killed).GetProperty("live").GetBoolean() is false, "the killed instance to be gone");

            // Stopped first: s3rver cuts a read short when an instance rewrites its record meanwhile.
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }

            await AssertNoSecretInObjectsAsync(s3);
        }
        finally
        {
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }

            directories.ForEach(directory => Directory.Delete(directory, recursive: true));
        }
    }

    internal static Dictionary<string, string> Environment(S3rverServer s3) => new()
    {
        ["HeapDiagnostics__Egress__Provider"] = "S3",
        ["HeapDiagnostics__Egress__S3__ServiceUrl"] = s3.ServiceUrl,
        ["HeapDiagnostics__Egress__S3__Bucket"] = s3.Bucket,
        ["HeapDiagnostics__Egress__S3__Prefix"] = "prod",
        ["HeapDiagnostics__Egress__S3__ForcePathStyle"] = "true",
        ["HeapDiagnostics__Egress__InstanceRecordInterval"] = "00:00:01",
        ["AWS_ACCESS_KEY_ID"] = S3rverServer.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = Secret,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    /// <summary>Leaks, dumps and finds the suspects once per amount: the suspects travel to the instance's record.</summary>
    private static async Task LeakAndAnalyseAsync(SampleApiProcess app, string pattern, params int[] megabytes)
    {
        using var client = app.CreateAuthorizedClient();
        foreach (var mb in megabytes)
        {
            using (var leak = await client.PostAsync($"/leak/{pattern}?mb={mb}", null))
            {
                Assert.True(leak.IsSuccessStatusCode, await leak.Content.ReadAsStringAsync());
            }

            using var created = await client.PostAsync("/debug/heapdump?type=heap", null);
            var result = await created.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(created.StatusCode == HttpStatusCode.Created, result.ToString());
            Assert.True(result.GetProperty("egress").GetProperty("success").GetBoolean(), result.ToString());
            using var suspects = await client.GetAsync($"/debug/heapdump/{result.GetProperty("id").GetString()}/suspects");
            Assert.True(suspects.IsSuccessStatusCode, await suspects.Content.ReadAsStringAsync());
        }
    }

    private static async Task<JsonElement> PollFleetAsync(HttpClient client, Func<JsonElement, bool> done, string what)
    {
        JsonElement view = default;
        await Poll.UntilAsync(
            async () =>
            {
                using var answer = await client.GetAsync("/debug/fleet");
                var body = await answer.Content.ReadAsStringAsync();
                Assert.True(answer.IsSuccessStatusCode, $"GET /debug/fleet answered {(int)answer.StatusCode}: {body}");
                return done(view = JsonDocument.Parse(body).RootElement.Clone());
            },
            what,
            TimeSpan.FromMinutes(2));
        return view;
    }

    private static int Pid(JsonElement instance) => int.Parse(instance.GetProperty("instance").GetString()!.Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static int[] Pids(params SampleApiProcess[] apps) => [.. apps.Select(app => app.ProcessId).Order()];

    /// <summary>Every object but the dumps themselves (which hold the process's memory) is free of the secret and the API key.</summary>
    private static async Task AssertNoSecretInObjectsAsync(S3rverServer s3)
    {
        var keys = (await s3.ListKeysAsync()).Where(key => !key.EndsWith(".dmp.zst", StringComparison.Ordinal) && !key.EndsWith(".dmp", StringComparison.Ordinal)).ToList();
        Assert.Contains(keys, key => key.EndsWith("/instance.json.zst", StringComparison.Ordinal));
        Assert.Contains(keys, key => key.EndsWith(".suspects.json.zst", StringComparison.Ordinal));
        foreach (var key in keys)
        {
            var content = await s3.ReadAsync(key);
            var text = Encoding.UTF8.GetString(key.EndsWith(".zst", StringComparison.Ordinal) ? DumpCodec.TryUnpack(content, 64 << 20)! : content);
            Assert.DoesNotContain(Secret, text);
            Assert.DoesNotContain(TestHost.ApiKey, text);
        }
    }
}
