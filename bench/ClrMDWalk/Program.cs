using System.Diagnostics;
using System.Globalization;
using Microsoft.Diagnostics.Runtime;

// The plainest full pass over a dump with ClrMD, as a tool built on it would start: every object of the heap and
// every reference it holds. No marking, no dominators: the floor any object-graph analysis stands on.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ClrMDWalk DUMP");
    return 1;
}

var stopwatch = Stopwatch.StartNew();
using var target = DataTarget.LoadDump(args[0]);
using var runtime = target.ClrVersions[0].CreateRuntime();
long objects = 0;
long references = 0;
foreach (var obj in runtime.Heap.EnumerateObjects())
{
    if (!obj.IsValid || obj.IsFree)
    {
        continue;
    }

    objects++;
    foreach (var reference in obj.EnumerateReferenceAddresses(carefully: false, considerDependantHandles: false))
    {
        references++;
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"objects\": {objects}, \"references\": {references}, \"seconds\": {stopwatch.Elapsed.TotalSeconds:0.00}}}"));
return 0;
