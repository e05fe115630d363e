using System.Diagnostics;

// Fill the GC heap before the host starts, so the heap is settled (one full blocking GC) when the bench begins.
var count = int.TryParse(Environment.GetEnvironmentVariable("BENCH_OBJECTS"), out var requested) && requested >= 0
    ? requested
    : 10_000_000;
var fillTime = Stopwatch.StartNew();
Ballast.Fill(count);
GC.Collect();
GC.WaitForPendingFinalizers();
GC.Collect();
fillTime.Stop();

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddHeapDiagnostics();
var app = builder.Build();

app.MapGet("/ping", () => "pong");

// Grows the heap after start, so the monitor sees a threshold crossing: the bench's automatic-report row.
app.MapPost("/grow", (int items) =>
{
    var before = GC.GetAllocatedBytesForCurrentThread();
    Ballast.Grow(items);
    return new GrowReport(items, GC.GetAllocatedBytesForCurrentThread() - before);
});
app.MapGet("/stats", () =>
{
    var gc = GC.GetGCMemoryInfo(GCKind.Any);
    return new BallastStats(
        Environment.ProcessId,
        Ballast.Count,
        Ballast.Count * 2L,
        Ballast.Checksum(),
        gc.HeapSizeBytes,
        gc.TotalCommittedBytes,
        Environment.WorkingSet,
        System.Runtime.GCSettings.IsServerGC,
        fillTime.Elapsed.TotalSeconds);
});

app.Run();

/// <summary>The answer of GET /stats.</summary>
internal sealed record BallastStats(
    int ProcessId,
    int Items,
    long GcObjects,
    long Checksum,
    long GcHeapSizeBytes,
    long GcCommittedBytes,
    long WorkingSetBytes,
    bool ServerGc,
    double FillSeconds);

/// <summary>The answer of POST /grow: items added and the bytes that took, so the rest of the app's allocations can be told apart.</summary>
internal sealed record GrowReport(int Items, long AllocatedBytes);

/// <summary>
/// One small item: a 48-byte object with a few fields and its own 16-byte array (40 bytes on the heap), plus its
/// 8-byte slot in the array that holds it — about 96 bytes, so 10 M items are about 1 GB in 20 M GC objects.
/// </summary>
internal sealed class Item(int id, long stamp, string tag, byte[] payload)
{
    public int Id { get; } = id;

    public long Stamp { get; } = stamp;

    public string Tag { get; } = tag;

    public byte[] Payload { get; } = payload;
}

/// <summary>Keeps the items reachable from a static root for the life of the process.</summary>
internal static class Ballast
{
    private static readonly string[] Tags = [.. Enumerable.Range(0, 100).Select(i => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"tag-{i}"))];
    private static Item[] _items = [];
    private static readonly List<Item[]> Grown = [];

    public static int Count => _items.Length;

    /// <summary>More items, in a chunk of their own, held as long as the first ones.</summary>
    public static void Grow(int count)
    {
        var chunk = new Item[count];
        for (var i = 0; i < count; i++)
        {
            chunk[i] = new Item(i, i * 31L, Tags[i % Tags.Length], new byte[16]);
        }

        lock (Grown)
        {
            Grown.Add(chunk);
        }
    }

    public static void Fill(int count)
    {
        var filled = new Item[count];
        for (var i = 0; i < count; i++)
        {
            var payload = new byte[16];
            payload[0] = (byte)i;
            filled[i] = new Item(i, i * 31L, Tags[i % Tags.Length], payload);
        }

        _items = filled;
    }

    /// <summary>Touches every item, so nothing can be optimized away and /stats proves they are all there.</summary>
    public static long Checksum()
    {
        long sum = 0;
        foreach (var item in _items)
        {
            sum += item.Id + item.Payload[0];
        }

        return sum;
    }
}
