using System.Text.Json;
using System.Text.Json.Serialization;
using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore;

/// <summary>Source-generated JSON for everything HeapDiag writes: no reflection at run time, camelCase names.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(MemoryDiagnostics))]
internal sealed partial class HeapDiagnosticsJsonContext : JsonSerializerContext;
