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
using var runtime = CreateRuntime(target.ClrVersions[0]);
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

// ClrMD 4.2 cannot read the version of an ELF libcoreclr.so (0.0) and then finds no data access library to match;
// the one beside the dumped runtime, in a directory named after its exact version, is the right one (as HeapDiag does).
static ClrRuntime CreateRuntime(ClrInfo clr)
{
    try
    {
        return clr.CreateRuntime();
    }
    catch (FileNotFoundException)
    {
        return clr.CreateRuntime(Path.Combine(Path.GetDirectoryName(clr.ModuleInfo.FileName)!, "libmscordaccore.so"), ignoreMismatch: true);
    }
}
