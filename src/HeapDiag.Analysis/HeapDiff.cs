namespace HeapDiag.Analysis;

/// <summary>
/// How the live heap changed between two summaries (after − before): the growth that points at a leak.
/// </summary>
/// <param name="BeforeDumpFileName">File name of the earlier dump.</param>
/// <param name="AfterDumpFileName">File name of the later dump.</param>
/// <param name="Counting">Which objects both summaries counted (<see cref="CountingModes.Live"/>).</param>
/// <param name="Before">Live totals of the earlier dump.</param>
/// <param name="After">Live totals of the later dump.</param>
/// <param name="ObjectsDelta">Change in the number of live objects.</param>
/// <param name="BytesDelta">Change in live bytes.</param>
/// <param name="Types">Types whose count or bytes changed, by bytes growth, largest growth first; at most <c>top</c> entries.</param>
/// <param name="NewTypes">Types with live objects only in the later dump, by bytes, largest first; at most <c>top</c> entries.</param>
/// <param name="VanishedTypes">Types with live objects only in the earlier dump, by bytes, largest first; at most <c>top</c> entries.</param>
/// <param name="ChangedTypeCount">Number of types whose count or bytes changed (before cutting to <c>top</c>).</param>
public sealed record HeapDiff(
    string BeforeDumpFileName,
    string AfterDumpFileName,
    string Counting,
    HeapTotals Before,
    HeapTotals After,
    long ObjectsDelta,
    long BytesDelta,
    IReadOnlyList<TypeDelta> Types,
    IReadOnlyList<TypeDelta> NewTypes,
    IReadOnlyList<TypeDelta> VanishedTypes,
    int ChangedTypeCount)
{
    /// <summary>Sentences a person should read next to the deltas: a damaged dump on either side (its numbers lack what could not be read).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>Change of one type between two summaries.</summary>
/// <param name="Name">Full type name.</param>
/// <param name="CountBefore">Live objects in the earlier dump.</param>
/// <param name="CountAfter">Live objects in the later dump.</param>
/// <param name="CountDelta"><paramref name="CountAfter"/> − <paramref name="CountBefore"/>.</param>
/// <param name="BytesBefore">Live bytes in the earlier dump.</param>
/// <param name="BytesAfter">Live bytes in the later dump.</param>
/// <param name="BytesDelta"><paramref name="BytesAfter"/> − <paramref name="BytesBefore"/>.</param>
public sealed record TypeDelta(
    string Name,
    long CountBefore,
    long CountAfter,
    long CountDelta,
    long BytesBefore,
    long BytesAfter,
    long BytesDelta);
