namespace HeapDiag.Cli;

/// <summary>What <c>heapdiag</c> returns to the shell.</summary>
internal static class ExitCodes
{
    /// <summary>The report was printed.</summary>
    public const int Success = 0;

    /// <summary>The command line was wrong: unknown command or option, missing argument, ambiguous type name.</summary>
    public const int UsageError = 1;

    /// <summary>A dump cannot be analysed: missing, empty, truncated, corrupt, damaged (too much unreadable, or the data access library crashed on it), or not a .NET dump.</summary>
    public const int UnusableDump = 2;

    /// <summary>Something went wrong inside heapdiag itself (a bug; the details go to standard error).</summary>
    public const int InternalError = 3;

    /// <summary>The analysis would need more memory than <c>--max-memory</c> allows; the message says how much.</summary>
    public const int NotEnoughMemory = 4;

    /// <summary>The scratch files' volume (next to the dump, else the temp directory) ran out of space; the message says where.</summary>
    public const int NotEnoughDisk = 5;

    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;
}
