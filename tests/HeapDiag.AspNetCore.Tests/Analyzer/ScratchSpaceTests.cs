using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.Analysis;
using HeapDiag.Analysis.Internal;
using HeapDiag.Analysis.Internal.Dominators;
using HeapDiag.AspNetCore.Tests.Damage;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Analyzer;

/// <summary>
/// The analysis writes scratch files (the recorded live graph, the dominator tree's arrays) next to the dump; a volume
/// with no room for them stops it with a clear answer, never a crash or an "internal error", and leaves nothing behind.
/// The volume is a tmpfs just larger than the dump, so the dump fits and the recording does not.
/// </summary>
[Collection(CaptureCollection.Name)]
public sealed class ScratchSpaceTests(RealDump dump) : IClassFixture<RealDump>
{
    private const long Headroom = 256 << 10;

    [RequiresTmpfsFact]
    public async Task Suspects_on_a_volume_with_no_room_for_scratch_are_507_naming_the_directory_and_the_fix_and_nothing_is_left()
    {
        using var tmpfs = Tmpfs.Mount(dump.Length + Headroom);
        var directory = Path.Combine(tmpfs.DirectoryPath, "dumps");
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:Directory"] = directory });
        var id = RealDump.IdFor(1);
        File.Copy(dump.Path, Path.Combine(directory, id.DumpFileName));
        var before = Directory.GetFileSystemEntries(directory).Order().ToList();

        using var response = await host.Client.GetAsync($"/debug/heapdump/{id}/suspects");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(response.StatusCode == HttpStatusCode.InsufficientStorage, $"{(int)response.StatusCode}: {problem}");
        Assert.Equal("AnalysisScratchSpace", problem.GetProperty("failure").GetString());
        Assert.Contains($"ran out of scratch space in {directory} (", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("HeapDiagnostics:Storage:Directory", problem.GetProperty("fix").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFileSystemEntries(directory).Order().ToList());

        using var memory = await host.Client.GetAsync("/debug/memory");
        Assert.Equal(HttpStatusCode.OK, memory.StatusCode);
    }

    [RequiresTmpfsFact]
    public void The_cli_exits_with_5_saying_where_and_what_to_do_and_leaves_only_the_dump()
    {
        using var tmpfs = Tmpfs.Mount(dump.Length + Headroom);
        var copy = Path.Combine(tmpfs.DirectoryPath, "app.dmp");
        File.Copy(dump.Path, copy);
        using var output = new StringWriter();
        using var error = new StringWriter();

        // The scratch files go next to the dump when its directory is writable, as here.
        var exitCode = HeapDiag.Cli.HeapDiagCommand.Run(["suspects", copy], output, error);

        Assert.True(exitCode == 5, $"exit {exitCode}: {error}");
        Assert.Contains($"heapdiag: the analysis ran out of scratch space in {tmpfs.DirectoryPath} (", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("free space there, or copy the dump to a directory with room", error.ToString(), StringComparison.Ordinal);
        Assert.Equal([copy], Directory.GetFileSystemEntries(tmpfs.DirectoryPath));
    }

    [RequiresTmpfsFact]
    public void The_library_throws_a_scratch_space_exception_and_deletes_its_scratch_files()
    {
        using var tmpfs = Tmpfs.Mount(Headroom);
        using var heapDump = HeapDump.Open(dump.Path, new HeapDumpOptions { ScratchDirectory = tmpfs.DirectoryPath });

        var error = Assert.Throws<HeapAnalysisScratchSpaceException>(() => heapDump.FindLeakSuspects());

        Assert.Equal(tmpfs.DirectoryPath, error.DirectoryPath);
        Assert.True(error.FreeBytes < Headroom, $"free: {error.FreeBytes}");
        Assert.IsType<IOException>(error.InnerException, exactMatch: false);
        Assert.Empty(Directory.GetFileSystemEntries(tmpfs.DirectoryPath));

        // The open dump still answers what needs no scratch space.
        Assert.True(heapDump.Summarize(new SummaryOptions { RetainedSizes = false }).Live.Objects > 0);
    }

    /// <summary>
    /// The volume holds the mark pass's recording but only half of what the dominator pass would add: the free space is
    /// checked before that pass writes anything (a page of a mapped scratch file that finds no room would be a SIGBUS).
    /// </summary>
    [RequiresTmpfsFact]
    public void The_library_refuses_the_dominator_pass_up_front_when_the_volume_holds_the_recording_but_not_the_rest()
    {
        var (recorded, needed) = MeasureScratch(dump.Path);
        using var tmpfs = Tmpfs.Mount(recorded + (needed / 2));
        using var heapDump = HeapDump.Open(dump.Path, new HeapDumpOptions { ScratchDirectory = tmpfs.DirectoryPath, AlwaysMapScratchArrays = true });

        var error = Assert.Throws<HeapAnalysisScratchSpaceException>(() => heapDump.FindLeakSuspects());

        Assert.Equal(needed, error.NeededBytes);
        Assert.InRange(error.FreeBytes!.Value, 1, needed - 1);
        Assert.Null(error.InnerException);
        Assert.Contains($"the dominator tree needs about", error.Message, StringComparison.Ordinal);
        Assert.Contains(tmpfs.DirectoryPath, error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(tmpfs.DirectoryPath));
    }

    /// <summary>The bytes the mark pass records for <paramref name="path"/>, each file in whole pages as a tmpfs holds it, and the dominator pass's estimate of what it adds.</summary>
    private static (long Recorded, long Needed) MeasureScratch(string path)
    {
        using var session = DumpSession.Open(path);
        using var scratch = ScratchSpace.Create(null);
        var live = LiveHeap.Mark(session, RootSet.Collect(session, CancellationToken.None), 1, countAllObjects: false, () => scratch, new PreorderGraph(scratch, session.Objects.Types), CancellationToken.None);
        var recorded = Directory.GetFiles(scratch.DirectoryPath).Sum(file => (new FileInfo(file).Length + 4095) / 4096 * 4096);
        return (recorded, DominatorTree.ScratchBytes(live.Live.Count, live.Graph!.EdgeCount, mapped: true));
    }
}
