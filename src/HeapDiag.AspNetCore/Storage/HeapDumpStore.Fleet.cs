namespace HeapDiag.AspNetCore.Storage;

internal sealed partial class HeapDumpStore
{
    // A result or record is small; one far larger is not HeapDiag's and is not read whole.
    public const int MaxSmallObjectBytes = 4 << 20;

    /// <summary>The bucket tier, for the fleet view that reads every instance's objects; null without one.</summary>
    public IDumpBucket? Bucket => bucket;

    /// <summary>
    /// A result made for a dump (<see cref="DumpEvent.Suspects"/>, <see cref="DumpEvent.LeakReport"/>): told to this instance's
    /// record, and with the bucket tier copied zstd-compressed beside the dump's object in the background. A copy that fails is
    /// in the egress status; the local result stays.
    /// </summary>
    public void PublishResult(HeapDumpId id, string name, byte[] content)
    {
        activity?.Post(new DumpEvent(id, name, null, content));
        if (bucket is not null)
        {
            _ = ShipResultAsync(id, name, content);
        }
    }

    /// <summary>Writes this instance's record (JSON) zstd-compressed in its folder. Throws <see cref="HeapDumpStoreException"/> when the bucket fails.</summary>
    public Task PutInstanceRecordAsync(byte[] json, CancellationToken cancellationToken) =>
        bucket is null ? Task.CompletedTask : bucket.PutAsync(bucket.Layout.InstanceRecordKey, DumpCodec.Pack(json), "application/zstd", cancellationToken);

    private async Task ShipResultAsync(HeapDumpId id, string name, byte[] content)
    {
        var stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
        try
        {
            if (await FindRemoteAsync(id, stopping) is { } remote)
            {
                await bucket!.PutAsync(BucketLayout.ResultKey(remote.Key, name), DumpCodec.Pack(content), "application/zstd", stopping);
            }
        }
        catch (HeapDumpStoreException ex)
        {
            RecordError(id, $"The {name} of {id} were not copied to the bucket: {ex.Message} {ex.Fix}");
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // The app is stopping.
        }
    }
}
