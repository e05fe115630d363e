using System.Reflection;
using Microsoft.Diagnostics.Tracing;

namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// The call stack of an event read from an EventPipe stream. TraceEvent attaches it to the event record as an ETW
/// stack extended item but exposes it only through ETLX (<c>TraceLog</c>), which converts the whole trace first and
/// has failed in low-memory containers; so the record is read here, as TraceEvent lays it out.
/// </summary>
internal static unsafe class EventStack
{
    // EVENT_RECORD: an 80-byte EVENT_HEADER, a 4-byte buffer context, then ExtendedDataCount (ushort) and
    // UserDataLength (ushort), then the pointer to the extended items.
    private const int ExtendedDataCountOffset = 84;
    private const int ExtendedDataOffset = 88;

    // EVENT_HEADER_EXTENDED_DATA_ITEM: Reserved1, ExtType, Reserved2, DataSize (ushorts), then DataPtr (ulong).
    private const int ItemSize = 16;
    private const ushort StackTrace32 = 5;
    private const ushort StackTrace64 = 6;

    private static readonly FieldInfo? RecordField = typeof(TraceEvent).GetField("eventRecord", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>Whether this TraceEvent lays events out as expected; checked once by the reader.</summary>
    public static bool IsSupported => RecordField?.FieldType.IsPointer == true;

    /// <summary>The return addresses of <paramref name="data"/>'s stack, innermost first, into <paramref name="frames"/>; false when it has none.</summary>
    public static bool TryRead(TraceEvent data, List<ulong> frames)
    {
        frames.Clear();
        if (RecordField?.GetValue(data) is not { } boxed)
        {
            return false;
        }

        var record = (byte*)Pointer.Unbox(boxed);
        if (record is null)
        {
            return false;
        }

        var count = *(ushort*)(record + ExtendedDataCountOffset);
        var items = *(byte**)(record + ExtendedDataOffset);
        for (var i = 0; i < count && items is not null; i++)
        {
            var item = items + (i * ItemSize);
            var type = *(ushort*)(item + 2);
            if (type is not (StackTrace32 or StackTrace64))
            {
                continue;
            }

            // The data starts with an unused 8-byte match id, then one address per frame.
            var size = *(ushort*)(item + 6);
            var data64 = (byte*)*(ulong*)(item + 8) + 8;
            var width = type == StackTrace64 ? 8 : 4;
            for (var offset = 0; offset + width <= size - 8; offset += width)
            {
                frames.Add(width == 8 ? *(ulong*)(data64 + offset) : *(uint*)(data64 + offset));
            }

            return frames.Count > 0;
        }

        return false;
    }
}
