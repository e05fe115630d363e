using System.ComponentModel.DataAnnotations;

namespace HeapDiag.AspNetCore;

/// <summary>Where finished dumps go after they are written to <c>Storage:Directory</c>.</summary>
public enum HeapDumpEgressProvider
{
    /// <summary>Dumps stay in <c>Storage:Directory</c> on this instance's disk; nothing is uploaded. The default.</summary>
    FileSystem,

    /// <summary>
    /// Each dump and its diagnostics are also uploaded to an S3-compatible bucket (AWS S3, MinIO, Ceph…), so they
    /// outlive the instance that wrote them.
    /// </summary>
    S3,

    /// <summary>
    /// Each dump and its diagnostics are also uploaded to an Azure Blob Storage container (or Azurite), so they
    /// outlive the instance that wrote them.
    /// </summary>
    AzureBlob,
}

/// <summary>How dumps are stored in the bucket (<c>Egress:S3:Compression</c>, <c>Egress:AzureBlob:Compression</c>).</summary>
public enum HeapDumpCompression
{
    /// <summary>zstd (the default): objects end in <c>.dmp.zst</c>, typically a fifth of the dump or much less.</summary>
    Zstd,

    /// <summary>The dump as it is: objects end in <c>.dmp</c>.</summary>
    None,
}

/// <summary>Settings under <c>HeapDiagnostics:Egress</c>.</summary>
public sealed class HeapDumpEgressOptions
{
    /// <summary><c>FileSystem</c> (the default: no upload), <c>S3</c> or <c>AzureBlob</c>.</summary>
    [EnumDataType(typeof(HeapDumpEgressProvider), ErrorMessage = "HeapDiagnostics:Egress:Provider must be FileSystem (the default), S3 or AzureBlob.")]
    public HeapDumpEgressProvider Provider { get; set; } = HeapDumpEgressProvider.FileSystem;

    /// <summary>
    /// How often this instance refreshes its record in the bucket (<c>{Prefix}/{app}/{instance}/instance.json.zst</c>), which the
    /// fleet view (<c>GET /fleet</c>) reads: at most this often, and at each dump. An instance whose record is older than three
    /// intervals is shown as gone. Default 00:05:00; at least 00:00:01.
    /// </summary>
    [SettingRange(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "HeapDiagnostics:Egress:InstanceRecordInterval must be between 00:00:01 and 1.00:00:00 (default 00:05:00).")]
    public TimeSpan InstanceRecordInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary><c>HeapDiagnostics:AppName</c>, copied here so the bucket names the app's folder by it.</summary>
    internal string? AppName { get; set; }

    /// <summary>The bucket used when <see cref="Provider"/> is <c>S3</c>.</summary>
    [Microsoft.Extensions.Options.ValidateObjectMembers]
    public S3EgressOptions S3 { get; } = new();

    /// <summary>The container used when <see cref="Provider"/> is <c>AzureBlob</c>.</summary>
    [Microsoft.Extensions.Options.ValidateObjectMembers]
    public AzureBlobEgressOptions AzureBlob { get; } = new();
}
