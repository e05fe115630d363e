using System.Globalization;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3.Model;
using HeapDiag.AspNetCore;
using HeapDiag.AspNetCore.Fleet;
using HeapDiag.AspNetCore.Storage;

// Section 11 of bench/run. `seed URL BUCKET PREFIX INSTANCES DUMPS`: writes what a fleet of INSTANCES instances with DUMPS dumps
// each leaves in an S3 bucket (a record per instance, and per dump a small stand-in object, its diagnostics and its suspects),
// every instance sharing one leak and half of them another; prints {objects, seconds}. `size URL BUCKET PREFIX APP`: the bytes of
// the records the app's instances wrote (an instance with no dump), as JSON {records, bytes}.
var (command, url, bucket, prefix) = (args[0], args[1], args[2], args[3].Trim('/') + "/");
using var s3 = S3DumpBucket.CreateClient(new S3EgressOptions { ServiceUrl = url, ForcePathStyle = true }, new BasicAWSCredentials("S3RVER", "S3RVER"));
if (command == "size")
{
    var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = $"{prefix}{args[4]}/" });
    var records = (listed.S3Objects ?? []).Where(o => o.Key.EndsWith("/" + BucketLayout.InstanceRecordName, StringComparison.Ordinal)).ToList();
    Console.WriteLine(JsonSerializer.Serialize(new { records = records.Count, bytes = records.Sum(o => o.Size ?? 0) }));
    return;
}

var (instances, dumps) = (int.Parse(args[4], CultureInfo.InvariantCulture), int.Parse(args[5], CultureInfo.InvariantCulture));
var now = DateTimeOffset.UtcNow;
var started = System.Diagnostics.Stopwatch.StartNew();
var objects = 0;
using var throttle = new SemaphoreSlim(16);
await Task.WhenAll(Enumerable.Range(0, instances).Select(async i =>
{
    await throttle.WaitAsync();
    try
    {
        var (app, instance) = ($"app{i % 4}", $"{1000 + i}-{i:x12}");
        var folder = $"{prefix}{app}/{instance}/";
        var taken = Enumerable.Range(0, dumps).Select(d => Dump(folder, 1000 + i, now.AddHours(d - dumps), i, d)).Reverse().ToList();
        var record = new InstanceRecord(InstanceRecord.CurrentSchema, app, instance, $"pod-{i}", "1.0.0", now.AddDays(-1), now, 300,
            new InstanceSample(now, 900L << 20, 900L << 20, 700L << 20), "WorkingSet", 1610612736, dumps, taken);
        await Put($"{folder}{BucketLayout.InstanceRecordName}", DumpCodec.Pack(JsonSerializer.SerializeToUtf8Bytes(record, HeapDiagnosticsJsonContext.Default.InstanceRecord)));
        foreach (var dump in taken)
        {
            await Put(dump.Key, new byte[1024]);
            await Put(dump.Key.Replace(".dmp.zst", ".diagnostics.json", StringComparison.Ordinal), "{}"u8.ToArray());
            await Put(BucketLayout.ResultKey(dump.Key, "suspects"), DumpCodec.Pack("{}"u8.ToArray()));
        }
    }
    finally
    {
        throttle.Release();
    }
}));
Console.WriteLine(JsonSerializer.Serialize(new { objects, seconds = started.Elapsed.TotalSeconds }));

async Task Put(string key, byte[] content)
{
    await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(content) });
    Interlocked.Increment(ref objects);
}

static InstanceDump Dump(string folder, int pid, DateTimeOffset at, int instance, int number)
{
    var id = new HeapDumpId(at, pid, "auto", number, "heap");
    List<InstanceLeak> leaks = [new("3f9a00aa11bb22cc", "object", "Orders.Cache.entries retains some MB", "memory-cache-unbounded", (100L + (number * (10 + instance % 7))) << 20)];
    if (instance % 2 == 0)
    {
        leaks.Add(new("77aa00aa11bb22dd", "instances", "12,000 Timer instances retain some MB", "undisposed-timer", (20L + number) << 20));
    }

    return new InstanceDump(id.ToString(), $"{folder}{id.DumpFileName}.zst", at, "auto", $"Orders.Cache.entries grew ({number})", leaks);
}
