using System.Diagnostics;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;

// DumpClient PID PATH — writes a heap dump (DumpType.WithHeap) of process PID to PATH through its runtime.
if (args.Length != 2 || !int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
{
    Console.Error.WriteLine("usage: DumpClient PID PATH");
    return 2;
}

var clock = Stopwatch.StartNew();
try
{
    await new DiagnosticsClient(pid).WriteDumpAsync(DumpType.WithHeap, args[1], WriteDumpFlags.None, CancellationToken.None);
}
catch (Exception ex) when (ex is ServerErrorException or ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
{
    Console.Error.WriteLine($"dump failed: {ex.Message}");
    return 1;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"ms\":{clock.Elapsed.TotalMilliseconds:F1}}}"));
return 0;
