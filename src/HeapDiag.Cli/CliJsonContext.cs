using System.Text.Json.Serialization;
using HeapDiag.Analysis;

namespace HeapDiag.Cli;

/// <summary>Source-generated JSON for <c>--json</c>: camelCase, indented, no reflection.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(HeapSummary))]
[JsonSerializable(typeof(HeapDiff))]
[JsonSerializable(typeof(RetentionReport))]
[JsonSerializable(typeof(LeakSuspectReport))]
[JsonSerializable(typeof(RuntimeReport))]
[JsonSerializable(typeof(HeapDiag.Analysis.Allocations.AllocationSitesReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
