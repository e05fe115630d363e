namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// The answer of <c>GET /heapdump</c>. <see cref="Remote"/> is the bucket listed too (null with the file system
/// provider); <see cref="RemoteError"/> says why it could not be, in which case only local dumps are listed.
/// </summary>
internal sealed record HeapDumpList(string Directory, IReadOnlyList<HeapDumpListItem> Dumps, string? Remote = null, string? RemoteError = null);

/// <summary>
/// One dump in the list. <see cref="Location"/>: <c>local</c>, <c>s3</c> or <c>azureblob</c> (held only in the bucket), or <c>both</c>; <see cref="ObjectKey"/> its key in
/// the bucket; <see cref="Sha256"/> the digest of the dump (null for dumps written before digests).
/// </summary>
internal sealed record HeapDumpListItem(
    string Id, DateTimeOffset Created, string Trigger, int DumpNumber, string Type, long SizeBytes, HeapDumpLinks Links, string Location = "local", string? ObjectKey = null, string? Sha256 = null);

/// <summary>Where to fetch a dump and its diagnostics.</summary>
internal sealed record HeapDumpLinks(string Download, string? Diagnostics);
