using System.Threading.Channels;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// What happened to this process's dumps that the fleet's instance record tells (a dump shipped, its suspects or leak report
/// made), posted by the store and read by the record's writer: the store never depends on who reads. Bounded: a writer that
/// stopped reading loses the oldest events, never the app's memory.
/// </summary>
internal sealed class DumpActivity
{
    private readonly Channel<DumpEvent> _events = Channel.CreateBounded<DumpEvent>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });

    public ChannelReader<DumpEvent> Events => _events.Reader;

    public void Post(DumpEvent dumpEvent) => _events.Writer.TryWrite(dumpEvent);
}

/// <summary>
/// One thing that happened to a dump: <see cref="Shipped"/> to the bucket at <see cref="Key"/>, or a result <see cref="Content"/>
/// made (<see cref="Suspects"/>, <see cref="LeakReport"/>).
/// </summary>
internal sealed record DumpEvent(HeapDumpId Id, string Kind, string? Key, byte[]? Content)
{
    public const string Shipped = "shipped";
    public const string Suspects = "suspects";
    public const string LeakReport = "leak-report";
}
