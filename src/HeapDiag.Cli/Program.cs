namespace HeapDiag.Cli;

/// <summary>Entry point of the <c>heapdiag</c> tool: the command runs in a worker process (<see cref="WorkerProcess"/>), which is this program again.</summary>
internal static class Program
{
    private static int Main(string[] args) =>
        WorkerProcess.IsWorker ? HeapDiagCommand.Run(args, Console.Out, Console.Error) : WorkerProcess.Run(args, Console.Out, Console.Error);
}
