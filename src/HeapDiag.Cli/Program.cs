namespace HeapDiag.Cli;

/// <summary>Entry point of the <c>heapdiag</c> tool.</summary>
internal static class Program
{
    private static int Main(string[] args) => HeapDiagCommand.Run(args, Console.Out, Console.Error);
}
