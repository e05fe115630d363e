namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// A directory in the dump directory where one run of the analyzer process writes its results and scratch files.
/// Made by <see cref="HeapDumpStore.CreateAnalysisWorkspace"/>; disposing it deletes it with everything left in it.
/// </summary>
internal sealed class AnalysisWorkspace(string path, HeapDumpStore store) : IDisposable
{
    /// <summary>The directory's full path.</summary>
    public string DirectoryPath { get; } = path;

    /// <summary>A file in the workspace.</summary>
    public string File(string name) => Path.Combine(DirectoryPath, name);

    public void Dispose() => store.TryDelete(DirectoryPath);
}
