namespace HeapDiag.Analysis;

/// <summary>
/// The file cannot be analysed: it is missing, empty, truncated, corrupt, not a core dump or minidump, or holds no
/// .NET runtime. <see cref="Exception.Message"/> is one line a person understands, for example
/// <c>truncated: the file has 1048576 bytes but its headers describe 187000832</c>.
/// </summary>
public sealed class HeapDumpFormatException : Exception
{
    /// <summary>Creates the exception with a one-line reason.</summary>
    public HeapDumpFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a one-line reason and the error that revealed it.</summary>
    public HeapDumpFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic reason.</summary>
    public HeapDumpFormatException()
        : base("the file is not a readable .NET heap dump")
    {
    }
}
