namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// A directory beside the dumps where one run of the analyzer process writes its results and scratch files. Made by
/// <see cref="HeapDumpStore.CreateAnalysisWorkspace"/>; disposing it deletes it with everything left in it.
/// </summary>
internal sealed record AnalysisWorkspace(string DirectoryPath, HeapDumpStore Store) : IDisposable
{
    /// <summary>A file in the workspace.</summary>
    public string File(string name) => Path.Combine(DirectoryPath, name);

    public void Dispose() => Store.TryDelete(DirectoryPath);
}
