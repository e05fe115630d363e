namespace HeapDiag.AspNetCore;

/// <summary>
/// Settings under <c>HeapDiagnostics:Egress:AzureBlob</c>: a storage account's connection string, or its blob endpoint
/// (<see cref="ServiceUri"/>) with the credential <c>DefaultAzureCredential</c> finds (workload or managed identity,
/// environment, Azure CLI), so that a production app needs no secret in its settings at all.
/// </summary>
public sealed class AzureBlobEgressOptions : BucketEgressOptions
{
    /// <summary>
    /// A storage account connection string (<c>DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…</c>, or one with a
    /// SAS). Keep it in a secret store or an environment variable; HeapDiag never writes it to a log, a message or an object.
    /// Set this or <see cref="ServiceUri"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The account's blob endpoint, for example <c>https://myaccount.blob.core.windows.net</c>, used with
    /// <c>DefaultAzureCredential</c> (the identity needs the <c>Storage Blob Data Contributor</c> role on the container). A
    /// SAS query string in it is used as the credential instead. Set this or <see cref="ConnectionString"/>.
    /// </summary>
    public string? ServiceUri { get; set; }

    /// <summary>The container. Required when <c>Egress:Provider</c> is <c>AzureBlob</c>; HeapDiag never creates it.</summary>
    public string? ContainerName { get; set; }

    /// <summary>
    /// Answer a download of a dump held only in the container with <c>307</c> to a SAS URL of the blob (read-only,
    /// valid for five minutes) instead of streaming it through the app. Signed with the account key of the connection
    /// string, or with a user delegation key under <c>DefaultAzureCredential</c>. Default false.
    /// </summary>
    public bool SasDownloads { get; set; }
}
