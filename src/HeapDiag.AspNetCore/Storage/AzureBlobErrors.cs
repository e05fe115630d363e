using System.Net;
using Azure;
using Azure.Identity;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// Turns what the Azure SDK throws into a <see cref="HeapDumpStoreException"/> a person can act on: the blob's URL, the
/// service's error code and the setting to fix — only the first line of the service's message, never a header or a key.
/// </summary>
internal sealed class AzureBlobErrors(AzureBlobEgressOptions options, string endpoint)
{
    private const string Section = "HeapDiagnostics:Egress:AzureBlob";

    private bool UsesConnectionString => !string.IsNullOrWhiteSpace(options.ConnectionString);

    public string EndpointSetting => UsesConnectionString ? $"{Section}:ConnectionString (its BlobEndpoint or AccountName)" : $"{Section}:ServiceUri";

    /// <summary>What the SDK throws when storage fails (after its retries), as opposed to a bug or the caller cancelling.</summary>
    public static bool IsStorageFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is RequestFailedException or AuthenticationFailedException or AggregateException or HttpRequestException or IOException or TimeoutException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    public HeapDumpStoreException Describe(string what, string container, Exception ex)
    {
        // After its retries the SDK throws an AggregateException of every attempt; the service's answer, if any, is inside.
        var answered = Causes(ex).OfType<RequestFailedException>().LastOrDefault(failure => failure.Status > 0);
        var cause = answered is not null ? $"{answered.ErrorCode ?? ((HttpStatusCode)answered.Status).ToString()} (HTTP {answered.Status}): {FirstLine(answered.Message)}"
            : Causes(ex).OfType<AuthenticationFailedException>().FirstOrDefault() is { } identity ? $"no credential: {FirstLine(identity.Message)}"
            : Causes(ex).Any(inner => inner is OperationCanceledException or TimeoutException) ? $"no answer within the request timeout of {options.RequestTimeout} ({options.MaxAttempts} attempts)"
            : FirstLine(Causes(ex).Last().Message);
        return new HeapDumpStoreException($"{what} failed: {cause}.", ex) { Fix = Fix(answered, ex, container), ErrorCode = answered?.ErrorCode };
    }

    private string Fix(RequestFailedException? answered, Exception exception, string container) => answered switch
    {
        { ErrorCode: "ContainerNotFound" } => $"Create the container '{container}' (HeapDiag never creates it) or correct {Section}:ContainerName.",
        { Status: 401 or 403 } when UsesConnectionString =>
            $"Check the account key in {Section}:ConnectionString (copy it again from the storage account's 'Access keys'); a SAS in it must allow read, add, create, write, delete and list on container '{container}' and must not have expired.",
        { Status: 401 or 403 } =>
            $"Give the identity DefaultAzureCredential finds for this process the 'Storage Blob Data Contributor' role on container '{container}' (and 'Storage Blob Delegator' on the account for SasDownloads).",
        { Status: > 0 and < 500 } => $"Check the {Section} settings (ConnectionString or ServiceUri, ContainerName).",
        null when Causes(exception).Any(inner => inner is AuthenticationFailedException) =>
            $"Give DefaultAzureCredential an identity (a managed or workload identity, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or 'az login'), or set {Section}:ConnectionString instead of ServiceUri.",
        _ => $"Check that {EndpointSetting} names the right endpoint ('{endpoint}') and that it is reachable from this instance; the dump stays in the local directory meanwhile.",
    };

    /// <summary>The exception and every cause inside it, the innermost last.</summary>
    private static IEnumerable<Exception> Causes(Exception exception)
    {
        var current = exception;
        while (current is not null)
        {
            yield return current;
            current = current is AggregateException aggregate ? aggregate.InnerExceptions.LastOrDefault() : current.InnerException;
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim().TrimEnd('.');
}
