namespace HeapDiag.AspNetCore.Storage;

/// <summary>A complete dump in the store, with the diagnostics written before it (when they survived).</summary>
internal sealed record StoredHeapDump(HeapDumpId Id, long SizeBytes, string DumpPath, string? DiagnosticsPath);
