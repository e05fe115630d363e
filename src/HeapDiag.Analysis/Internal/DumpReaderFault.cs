using System.Reflection;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// An exception thrown inside the dump reader (ClrMD, or the metadata reader under it) while it reads a dump's runtime
/// structures — a type whose fields or base type no longer make sense, a metadata table cut short — is a finding about
/// the dump, like a crash in the runtime's data access library: answered as a damaged dump, not as HeapDiag's own
/// failure. An exception thrown in HeapDiag's code stays an internal error.
/// </summary>
internal static class DumpReaderFault
{
    private static readonly Assembly ClrMD = typeof(ClrHeap).Assembly;

    /// <summary>Whether <paramref name="exception"/> was thrown by the dump reader rather than by HeapDiag.</summary>
    public static bool IsFrom(Exception exception) =>
        exception is BadImageFormatException
        || (exception is not (OperationCanceledException or OutOfMemoryException)
            && exception.TargetSite?.DeclaringType?.Assembly is { } assembly
            && (assembly == ClrMD || assembly.GetName().Name == "System.Reflection.Metadata"));

    /// <summary>One clause for the failure: what failed and where.</summary>
    public static string Describe(Exception exception) =>
        $"ClrMD failed reading the runtime's structures in it ({exception.GetType().Name} in {exception.TargetSite?.DeclaringType?.Name}.{exception.TargetSite?.Name}); it is damaged, or from a runtime build ClrMD does not support";
}
