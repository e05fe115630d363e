using System.Text.Json;
using System.Text.Json.Serialization;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Endpoints;
using HeapDiag.AspNetCore.Monitoring;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Source-generated JSON for everything HeapDiag writes: no reflection at run time, camelCase names, compact (the
/// page polls <c>/monitor?window=true</c> every interval, and a full window indented is a third larger).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = false, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(MemoryDiagnostics))]
[JsonSerializable(typeof(HeapDumpResult))]
[JsonSerializable(typeof(HeapDumpList))]
[JsonSerializable(typeof(HeapDumpCapabilities))]
[JsonSerializable(typeof(MonitorStatus))]
[JsonSerializable(typeof(Fleet.InstanceRecord))]
[JsonSerializable(typeof(Fleet.FleetView))]
[JsonSerializable(typeof(Diagnostics.MemoryMaps.MemoryMap))]
[JsonSerializable(typeof(HeapDiag.Analysis.HeapSummary))]
[JsonSerializable(typeof(HeapDiag.Analysis.HeapDiff))]
[JsonSerializable(typeof(HeapDiag.Analysis.RetentionReport))]
[JsonSerializable(typeof(HeapDiag.Analysis.LeakSuspectReport))]
[JsonSerializable(typeof(HeapDiag.Analysis.RuntimeReport))]
[JsonSerializable(typeof(HeapDiag.Analyzer.AnalyzerFailure))]
[JsonSerializable(typeof(HeapDiag.Analysis.Allocations.AllocationSitesReport))]
internal sealed partial class HeapDiagnosticsJsonContext : JsonSerializerContext;
