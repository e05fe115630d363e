using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Fleet;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using HeapDiag.AspNetCore.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace HeapDiag.AspNetCore.Tests.Fleet;

/// <summary>
/// The fleet view over a real bucket (s3rver, Azurite) holding the records three other instances wrote, beside objects that
/// are not HeapDiag's and damaged records; time is a <see cref="FakeTimeProvider"/>, so "gone" comes from advancing it.
/// </summary>
internal static class FleetSeededStory
{
    public const string SameLeak = "3f9a00aa11bb22cc";
    public const string OtherLeak = "77aa00aa11bb22dd";
    public const string Root = "team/dumps/";
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    public static async Task TellAsync(IBucketServer server)
    {
        var time = new FakeTimeProvider(Start);
        await SeedAsync(server);
        await using var host = await BucketTestHost.StartAsync(server, services: services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)));

        // This host's own record is written at start, in the background.
        await Poll.UntilAsync(async () => (await server.ListKeysAsync()).Any(key => key.StartsWith($"{Root}{TestHost.ApplicationName}/", StringComparison.Ordinal) && key.EndsWith("/instance.json.zst", StringComparison.Ordinal)),
            "the host's own instance record", TimeSpan.FromMinutes(1));

        var fleet = await host.Client.GetFromJsonAsync<JsonElement>("/debug/fleet");
        Assert.Equal(4, fleet.GetProperty("instanceCount").GetInt32());
        Assert.Equal(4, fleet.GetProperty("liveCount").GetInt32());
        var scan = fleet.GetProperty("scan");
        Assert.Equal(3, scan.GetProperty("ignoredObjects").GetInt32());
        Assert.Equal(3, scan.GetProperty("damagedRecords").GetInt32());
        Assert.Equal(1 + 7, scan.GetProperty("requests").GetInt32());

        var leaks = fleet.GetProperty("leaks").EnumerateArray().ToList();
        Assert.Equal([SameLeak, OtherLeak], leaks.Select(leak => leak.GetProperty("fingerprint").GetString()));
        var same = leaks[0];
        Assert.Equal(2, same.GetProperty("instanceCount").GetInt32());
        Assert.Equal(Start.AddHours(-2), same.GetProperty("firstSeenUtc").GetDateTimeOffset());
        var growths = same.GetProperty("instances").EnumerateArray().ToDictionary(on => on.GetProperty("instance").GetString()!, on => on.GetProperty("growthBytes").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["101-aaaa"] = 300L << 20, ["102-bbbb"] = 100L << 20 }, growths);
        Assert.Equal(300.0 * (1 << 20), same.GetProperty("worstGrowthBytesPerHour").GetDouble(), 1);
        Assert.Equal(OtherLeak, leaks[1].GetProperty("fingerprint").GetString());
        Assert.Equal(JsonValueKind.Null, leaks[1].GetProperty("worstGrowthBytesPerHour").ValueKind);

        // Cached: the same answer without a request to the bucket.
        var again = await host.Client.GetFromJsonAsync<JsonElement>("/debug/fleet?app=orders");
        Assert.True(again.GetProperty("scan").GetProperty("cached").GetBoolean());
        Assert.Equal(0, again.GetProperty("scan").GetProperty("requests").GetInt32());
        Assert.Equal(2, again.GetProperty("instanceCount").GetInt32());
        var first = again.GetProperty("instances")[0];
        Assert.Equal("pod-a", first.GetProperty("host").GetString());
        Assert.Equal("orders grew", first.GetProperty("latestReport").GetString());
        Assert.Equal([true, false], first.GetProperty("dumps").EnumerateArray().Select(dump => dump.GetProperty("inBucket").GetBoolean()));

        // Three intervals (60 s each) later the seeded instances are gone; this host (5 min) is still live.
        time.Advance(TimeSpan.FromSeconds(181));
        var later = await host.Client.GetFromJsonAsync<JsonElement>("/debug/fleet");
        Assert.False(later.GetProperty("scan").GetProperty("cached").GetBoolean());
        Assert.Equal(1, later.GetProperty("liveCount").GetInt32());
        Assert.Equal(TestHost.ApplicationName, later.GetProperty("instances")[0].GetProperty("app").GetString());
        Assert.True(later.GetProperty("instances")[0].GetProperty("live").GetBoolean());
        Assert.All(later.GetProperty("leaks")[0].GetProperty("instances").EnumerateArray(), on => Assert.False(on.GetProperty("live").GetBoolean()));

        using var anonymous = await host.CreateClient().GetAsync("/debug/fleet");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var badApp = await host.Client.GetAsync("/debug/fleet?app=../x");
        Assert.Equal(HttpStatusCode.BadRequest, badApp.StatusCode);
        Assert.Equal("application/problem+json", badApp.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>Three instances' records (two apps), a dump object, and what is not HeapDiag's: foreign keys and damaged records.</summary>
    public static async Task SeedAsync(IBucketServer server)
    {
        var dumpA1 = Dump("101", Start.AddHours(-2), 100L << 20, null);
        var dumpA2 = Dump("101", Start.AddHours(-1), 400L << 20, "orders grew");
        await PutRecordAsync(server, Record("orders", "101-aaaa", "pod-a", dumpA2, dumpA1));
        await PutRecordAsync(server, Record("orders", "102-bbbb", "pod-b", Dump("102", Start.AddMinutes(-30), 250L << 20, null), Dump("102", Start.AddMinutes(-90), 150L << 20, null)));
        await PutRecordAsync(server, Record("billing", "103-cccc", "pod-c", Dump("103", Start.AddMinutes(-10), 80L << 20, null, OtherLeak)));

        // The newest dump of pod-a is in the bucket; its first was deleted by someone.
        await server.PutAsync(dumpA2.Key, [1, 2, 3]);

        // Not HeapDiag's: ignored and counted.
        await server.PutAsync($"{Root}README.txt", "hello"u8.ToArray());
        await server.PutAsync($"{Root}orders/deep/er/than/ours.bin", [0]);
        await server.PutAsync($"{Root}orders/101-aaaa/notes.txt", [0]);

        // Damaged records: not zstd, zstd of broken JSON, and a valid record in another instance's folder.
        await server.PutAsync($"{Root}orders/104-dddd/instance.json.zst", "not zstd at all"u8.ToArray());
        await server.PutAsync($"{Root}orders/105-eeee/instance.json.zst", DumpCodec.Pack("{\"schema\":1,\"app\":"u8.ToArray()));
        await server.PutAsync($"{Root}orders/106-ffff/instance.json.zst", DumpCodec.Pack(JsonSerializer.SerializeToUtf8Bytes(Record("orders", "101-aaaa", "pod-x"), HeapDiagnosticsJsonContext.Default.InstanceRecord)));
    }

    private static Task PutRecordAsync(IBucketServer server, InstanceRecord record) =>
        server.PutAsync($"{Root}{record.App}/{record.Instance}/instance.json.zst", DumpCodec.Pack(JsonSerializer.SerializeToUtf8Bytes(record, HeapDiagnosticsJsonContext.Default.InstanceRecord)));

    private static InstanceRecord Record(string app, string instance, string host, params InstanceDump[] dumps) =>
        new(InstanceRecord.CurrentSchema, app, instance, host, "1.0.0", Start.AddHours(-3), Start, 60, new InstanceSample(Start, 500L << 20, 500L << 20, 400L << 20), "WorkingSet", 1L << 30, dumps.Length,
            [.. dumps.Select(dump => dump with { Key = dump.Key.Replace("{app}", app, StringComparison.Ordinal).Replace("{instance}", instance, StringComparison.Ordinal) })]);

    private static InstanceDump Dump(string pid, DateTimeOffset at, long retained, string? report, string fingerprint = SameLeak)
    {
        var id = new HeapDumpId(at, int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture), "manual", 0, "heap");
        var key = pid switch { "101" => $"{Root}orders/101-aaaa/{id.DumpFileName}.zst", _ => $"{Root}{{app}}/{{instance}}/{id.DumpFileName}.zst" };
        return new InstanceDump(id.ToString(), key, at, "manual", report, [new InstanceLeak(fingerprint, "object", $"Cache retains {retained >> 20} MB", null, retained)]);
    }
}
