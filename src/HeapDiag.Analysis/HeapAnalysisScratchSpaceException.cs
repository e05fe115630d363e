namespace HeapDiag.Analysis;

/// <summary>
/// The analysis ran out of disk space for its scratch files (<see cref="HeapDumpOptions.ScratchDirectory"/>): the
/// recording of the live graph and the dominator tree's arrays (<see cref="SizeRule"/>).
/// What it had written is deleted. <see cref="Exception.Message"/> names the directory and, when known, how much is
/// needed and free.
/// </summary>
public sealed class HeapAnalysisScratchSpaceException : IOException
{
    /// <summary>
    /// How much scratch space an analysis with a dominator tree writes at most, as the messages of the CLI and the app
    /// tell it: the recording (20 bytes per object, 12 per reference not in the search's tree), the reversed graph's
    /// buckets (8 per reference) and the mapped arrays (about 20 per object).
    /// </summary>
    public const string SizeRule = "about 40 bytes per live object and 20 per reference";

    /// <summary>Creates the exception.</summary>
    /// <param name="directoryPath">Where the scratch files were.</param>
    /// <param name="neededBytes">Scratch space the next step needed, when it was known before writing.</param>
    /// <param name="freeBytes">Free space left there, when it can be told.</param>
    /// <param name="message">One line a person understands.</param>
    /// <param name="innerException">The write that failed, if one did.</param>
    public HeapAnalysisScratchSpaceException(string directoryPath, long? neededBytes, long? freeBytes, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        DirectoryPath = directoryPath;
        NeededBytes = neededBytes;
        FreeBytes = freeBytes;
    }

    /// <summary>Creates the exception with a generic reason.</summary>
    public HeapAnalysisScratchSpaceException()
        : this(string.Empty, null, null, "the analysis ran out of scratch space")
    {
    }

    /// <summary>Creates the exception with a reason.</summary>
    public HeapAnalysisScratchSpaceException(string message)
        : this(string.Empty, null, null, message)
    {
    }

    /// <summary>Creates the exception with a reason and the error that revealed it.</summary>
    public HeapAnalysisScratchSpaceException(string message, Exception innerException)
        : this(string.Empty, null, null, message, innerException)
    {
    }

    /// <summary>The directory the scratch files were in (deleted with them).</summary>
    public string DirectoryPath { get; }

    /// <summary>Bytes of scratch space the next step needed, when known before it started.</summary>
    public long? NeededBytes { get; }

    /// <summary>Bytes free on that volume when the analysis stopped, when it can be told.</summary>
    public long? FreeBytes { get; }
}
