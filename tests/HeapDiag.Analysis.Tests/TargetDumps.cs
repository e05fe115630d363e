namespace HeapDiag.Analysis.Tests;

/// <summary>
/// Two dumps of the test target, shared by the tests of a class (each dump takes seconds and 100+ MB): one with
/// <see cref="InitialMarkers"/> leaked markers, one after <see cref="AddedMarkers"/> more. Both live in a temporary
/// directory that <see cref="Dispose"/> deletes.
/// </summary>
public sealed class TargetDumps : IDisposable
{
    public const int InitialMarkers = 1_000;
    public const int AddedMarkers = 250;
    public const string MarkerType = "HeapDiag.Analysis.TestTarget.LeakMarker";
    public const string MarkersField = "HeapDiag.Analysis.TestTarget.Program.Markers";

    private readonly Lazy<HeapSummary> _beforeSummary;
    private readonly Lazy<HeapSummary> _afterSummary;

    public TargetDumps()
    {
        Directory = Path.Combine(Path.GetTempPath(), "heapdiag-analysis-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        BeforePath = Path.Combine(Directory, "before.dmp");
        AfterPath = Path.Combine(Directory, "after.dmp");
        try
        {
            using var target = TargetProcess.Start(InitialMarkers);
            target.Send($"dump {BeforePath}");
            target.Send($"add {AddedMarkers}");
            target.Send($"dump {AfterPath}");
            target.Send("exit");
        }
        catch
        {
            Dispose();
            throw;
        }

        _beforeSummary = new Lazy<HeapSummary>(() => Analyze.Summary(BeforePath));
        _afterSummary = new Lazy<HeapSummary>(() => Analyze.Summary(AfterPath));
    }

    /// <summary>The temporary directory holding the dumps (and anything else a test writes).</summary>
    public string Directory { get; }

    public string BeforePath { get; }

    public string AfterPath { get; }

    /// <summary>Summary of the first dump, computed once.</summary>
    public HeapSummary Before => _beforeSummary.Value;

    /// <summary>Summary of the second dump, computed once.</summary>
    public HeapSummary After => _afterSummary.Value;

    /// <summary>A file in the temporary directory holding the first <paramref name="bytes"/> bytes of the first dump.</summary>
    public string TruncatedCopy(int bytes)
    {
        var path = Path.Combine(Directory, $"truncated-{Guid.NewGuid():N}.dmp");
        using var source = File.OpenRead(BeforePath);
        using var copy = File.Create(path);
        var buffer = new byte[bytes];
        var read = source.ReadAtLeast(buffer, bytes, throwOnEndOfStream: false);
        copy.Write(buffer, 0, read);
        return path;
    }

    /// <summary>A file in the temporary directory with the given text.</summary>
    public string TextFile(string text)
    {
        var path = Path.Combine(Directory, $"text-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
