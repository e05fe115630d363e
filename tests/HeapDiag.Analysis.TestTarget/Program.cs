using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Diagnostics.NETCore.Client;

namespace HeapDiag.Analysis.TestTarget;

/// <summary>
/// A process whose heap the analysis tests know exactly. Started as <c>dotnet HeapDiag.Analysis.TestTarget.dll N</c>,
/// it keeps N <see cref="LeakMarker"/>s in <see cref="Markers"/>, prints <c>ready</c>, then reads commands from
/// standard input and answers each with <c>ok</c> (or <c>error: …</c>):
/// <list type="bullet">
/// <item><c>add K</c>: keep K more markers.</item>
/// <item><c>leak PATTERN K</c>: grow one of the leaks of <see cref="Leaks"/> (or <c>all</c>) by K items.</item>
/// <item><c>dump PATH</c>: leave some garbage markers behind, then write a heap dump of this process to PATH.</item>
/// <item><c>exit</c>: end.</item>
/// </list>
/// </summary>
internal static class Program
{
    /// <summary>The text every <see cref="DuplicateTexts"/> entry holds.</summary>
    internal const string DuplicateText = "heapdiag-duplicate-value";

    /// <summary>The leak the tests look for: everything added stays reachable through this static field.</summary>
    internal static readonly List<LeakMarker> Markers = [];

    /// <summary>50 separate string objects with the same value (built at run time, so not the interned literal).</summary>
    internal static readonly string[] DuplicateTexts = [.. Enumerable.Range(0, 50).Select(_ => string.Concat("heapdiag-duplicate-", "value"))];

    /// <summary>Two types whose names end in <c>Entry</c>, so a lookup by that suffix alone is ambiguous.</summary>
    internal static readonly object[] Entries = [new AlphaCache.Entry(), new BetaCache.Entry()];

    /// <summary>Keys of <see cref="Notes"/>, kept alive here.</summary>
    internal static readonly NoteKey[] NoteKeys = [.. Enumerable.Range(0, 10).Select(_ => new NoteKey())];

    /// <summary>
    /// A note per key, reachable only through the table's dependent handles: the mark pass must follow them as the GC
    /// does (the runtime's own tables have no live entries in these dumps).
    /// </summary>
    internal static readonly ConditionalWeakTable<NoteKey, Note> Notes = NewNotes();

    private static int Main(string[] args)
    {
        AddMarkers(int.Parse(args[0], CultureInfo.InvariantCulture));
        Console.WriteLine("ready");
        while (Console.ReadLine() is { } line)
        {
            var words = line.Split(' ', 2);
            try
            {
                switch (words[0])
                {
                    case "add":
                        AddMarkers(int.Parse(words[1], CultureInfo.InvariantCulture));
                        break;
                    case "leak":
                        var leak = words[1].Split(' ');
                        Leaks.Grow(leak[0], int.Parse(leak[1], CultureInfo.InvariantCulture));
                        break;
                    case "dump":
                        LeaveGarbage();
                        new DiagnosticsClient(Environment.ProcessId).WriteDump(DumpType.WithHeap, words[1]);
                        break;
                    case "exit":
                        return 0;
                    default:
                        throw new InvalidOperationException($"unknown command '{words[0]}'");
                }

                Console.WriteLine("ok");
            }
            catch (Exception ex)
            {
                Console.WriteLine($"error: {ex.Message.ReplaceLineEndings(" ")}");
            }
        }

        GC.KeepAlive(Entries);
        GC.KeepAlive(DuplicateTexts);
        return 0;
    }

    private static ConditionalWeakTable<NoteKey, Note> NewNotes()
    {
        var notes = new ConditionalWeakTable<NoteKey, Note>();
        foreach (var key in NoteKeys)
        {
            notes.Add(key, new Note());
        }

        return notes;
    }

    private static void AddMarkers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Markers.Add(new LeakMarker(Markers.Count));
        }
    }

    /// <summary>
    /// Markers nobody references once this returns: still in the dump (no GC runs before it), but not live. The
    /// analysis must not count them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LeaveGarbage()
    {
        for (var i = 0; i < 300; i++)
        {
            GC.KeepAlive(new LeakMarker(-1));
        }
    }
}

/// <summary>The object the tests count: one per leaked item, with a small payload it owns alone.</summary>
internal sealed class LeakMarker(int id)
{
    public int Id { get; } = id;

    public byte[] Payload { get; } = new byte[16];
}

/// <summary>A key of <see cref="Program.Notes"/>.</summary>
internal sealed class NoteKey;

/// <summary>A value of <see cref="Program.Notes"/>, with a payload of its own.</summary>
internal sealed class Note
{
    public byte[] Payload { get; } = new byte[24];
}

internal static class AlphaCache
{
    internal sealed class Entry;
}

internal static class BetaCache
{
    internal sealed class Entry;
}
