namespace HeapDiag.Analysis.Tests;

/// <summary>One question asked of a dump opened for it alone.</summary>
internal static class Analyze
{
    public static HeapSummary Summary(string path, SummaryOptions? options = null)
    {
        using var dump = HeapDump.Open(path);
        return dump.Summarize(options);
    }

    public static RetentionReport Retainers(string path, string typeName, RetainerOptions? options = null)
    {
        using var dump = HeapDump.Open(path);
        return dump.FindRetainers(typeName, options);
    }

    public static LeakSuspectReport Suspects(string path, SuspectOptions? options = null, HeapDumpOptions? dumpOptions = null)
    {
        using var dump = HeapDump.Open(path, dumpOptions);
        return dump.FindLeakSuspects(options);
    }
}
