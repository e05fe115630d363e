using System.Security.Cryptography;
using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>The local tier of the store on a temp directory: no web host, no bucket, files written the way createdump writes them.</summary>
public sealed class HeapDumpStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heapdiag-store-").FullName;
    private readonly List<HeapDumpStore> _stores = [];
    private readonly HeapDumpStore _store;
    private readonly MemoryDiagnosticsCollector _collector;
    private int _clock;

    public HeapDumpStoreTests()
    {
        _store = Store(maxDumps: 2);
        _collector = new MemoryDiagnosticsCollector(new ProcessInstance(), new MemoryTrend(), TimeProvider.System, new MemoryMapHistory(new MemoryMapReader(TimeProvider.System), TimeProvider.System), Options.Create(new MemoryMonitorOptions()), Options.Create(new HeapDiagnosticsOptions()));
    }

    [Fact]
    public async Task Commit_computes_the_sha256_of_the_dump_and_writes_it_beside_it_and_into_its_diagnostics()
    {
        var (id, content) = await WriteDumpAsync(3_000_000);

        var stored = await _store.CommitAsync(id, _collector.Collect("manual", 0), null, CancellationToken.None);

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        Assert.Equal(sha256, stored.Sha256);
        Assert.Equal(content.Length, stored.SizeBytes);
        Assert.Equal(Path.Combine(_directory, $"heapdump-{id}.dmp"), stored.DumpPath);
        Assert.Equal($"{sha256}  heapdump-{id}.dmp\n", await File.ReadAllTextAsync(Path.Combine(_directory, $"heapdump-{id}.sha256")));
        Assert.Equal(sha256, JsonDocument.Parse(_store.TryReadDiagnostics(id)!).RootElement.GetProperty("dumpSha256").GetString());
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stored.DumpPath));
        }

        Assert.Equal(sha256, Assert.Single(_store.List()).Sha256);
        using var lease = await _store.LeaseLocalCopyAsync(id, CancellationToken.None);
        Assert.Equal((stored.DumpPath, stored.SizeBytes, sha256), (lease!.DumpPath, lease.SizeBytes, lease.Sha256));
    }

    [Fact]
    public async Task An_empty_dump_is_refused_and_leaves_nothing()
    {
        var id = NextId();
        await File.WriteAllBytesAsync(_store.PrepareTempDump(id), []);

        await Assert.ThrowsAsync<IOException>(() => _store.CommitAsync(id, _collector.Collect("manual", 0), null, CancellationToken.None));

        Assert.Empty(Directory.GetFiles(_directory));
    }

    // Retention: Storage:MaxDumps and Storage:MaxTotalBytes, applied after each commit. Dumps are committed here by a
    // store without limits, then a store with limits on the same directory (an app restarted with other settings)
    // applies them.

    [Fact]
    public async Task MaxDumps_keeps_the_newest_and_deletes_the_oldest_with_everything_beside_them()
    {
        var ids = await CommitManyAsync(64_000, 64_000, 64_000, 64_000);
        Store().WriteAnalysisResult(ids[0], "summary", "{}"u8.ToArray());

        var deleted = Store(maxDumps: 2).ApplyRetention();

        Assert.Equal([ids[1], ids[0]], deleted);
        Assert.Equal([ids[3], ids[2]], _store.List().Select(dump => dump.Id));
        Assert.Equal(
            ids[2..].SelectMany(id => new[] { $"heapdump-{id}.diagnostics.json", $"heapdump-{id}.dmp", $"heapdump-{id}.sha256" }).Order(StringComparer.Ordinal),
            Directory.GetFiles(_directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MaxTotalBytes_deletes_the_oldest_until_the_rest_fits()
    {
        var ids = await CommitManyAsync(100_000, 100_000, 100_000, 100_000);

        var deleted = Store(maxTotalBytes: 250_000).ApplyRetention();

        Assert.Equal([ids[1], ids[0]], deleted);
        Assert.Equal([ids[3], ids[2]], _store.List().Select(dump => dump.Id));
        Assert.Empty(Store(maxTotalBytes: 200_000).ApplyRetention());
    }

    [Fact]
    public async Task MaxTotalBytes_never_keeps_an_older_dump_in_place_of_a_newer_one()
    {
        // The middle dump does not fit; the oldest would, but keeping it would keep an older dump and delete a newer.
        var ids = await CommitManyAsync(50_000, 200_000, 100_000);

        var deleted = Store(maxTotalBytes: 160_000).ApplyRetention();

        Assert.Equal([ids[1], ids[0]], deleted);
        Assert.Equal([ids[2]], _store.List().Select(dump => dump.Id));
    }

    [Fact]
    public async Task The_newest_dump_is_kept_even_when_it_alone_is_over_MaxTotalBytes()
    {
        var ids = await CommitManyAsync(64_000, 300_000);

        var deleted = Store(maxTotalBytes: 100_000).ApplyRetention();

        Assert.Equal([ids[0]], deleted);
        Assert.Equal([ids[1]], _store.List().Select(dump => dump.Id));
    }

    [Fact]
    public async Task Within_both_limits_nothing_is_deleted()
    {
        var ids = await CommitManyAsync(64_000, 64_000, 64_000);

        Assert.Empty(Store(maxDumps: 3, maxTotalBytes: 3 * 64_000).ApplyRetention());
        Assert.Equal(ids.AsEnumerable().Reverse(), _store.List().Select(dump => dump.Id));
    }

    [Fact]
    public async Task Retention_never_deletes_a_dump_being_analysed_and_deletes_it_once_the_lease_is_gone()
    {
        var (oldest, _) = await CommitAsync();
        var lease = await _store.LeaseLocalCopyAsync(oldest, CancellationToken.None);

        // MaxDumps is 2: the leased oldest counts as kept, so the newest two are kept beside it.
        await CommitAsync();
        await CommitAsync();

        Assert.Equal(3, _store.List().Count);
        Assert.True(File.Exists(lease!.DumpPath));
        lease.Dispose();
        lease.Dispose();

        Assert.Equal([oldest], _store.ApplyRetention());
        Assert.Equal(2, _store.List().Count);
        Assert.Null(await _store.LeaseLocalCopyAsync(oldest, CancellationToken.None));
    }

    [Fact]
    public async Task A_dump_being_analysed_is_never_deleted_for_MaxTotalBytes_either_and_counts_as_kept()
    {
        var ids = await CommitManyAsync(100_000, 100_000, 100_000, 100_000);
        var limited = Store(maxTotalBytes: 150_000);
        using var lease = limited.LeaseForAnalysis(ids[0]);

        // Room for one: the newest stays, the leased oldest stays beside it, the two between them go.
        var deleted = limited.ApplyRetention();

        Assert.Equal([ids[2], ids[1]], deleted);
        Assert.Equal([ids[3], ids[0]], _store.List().Select(dump => dump.Id));
    }

    [Fact]
    public async Task Diagnostics_of_failed_captures_are_kept_to_MaxDumps_of_their_own()
    {
        var dumps = await CommitManyAsync(64_000, 64_000);
        var failed = Enumerable.Range(0, 3).Select(_ => NextId()).ToList();
        foreach (var id in failed)
        {
            _store.WriteDiagnostics(id, "{\"trigger\":\"manual\"}"u8.ToArray());
        }

        var deleted = _store.ApplyRetention();

        // Orphan diagnostics are not dumps: they are not reported as deleted, and they do not count against the dumps.
        Assert.Empty(deleted);
        Assert.Equal(dumps.AsEnumerable().Reverse(), _store.List().Select(dump => dump.Id));
        Assert.Null(_store.TryReadDiagnostics(failed[0]));
        Assert.NotNull(_store.TryReadDiagnostics(failed[1]));
        Assert.NotNull(_store.TryReadDiagnostics(failed[2]));
    }

    [Fact]
    public async Task A_dump_deleted_while_it_is_read_is_read_to_its_end_from_the_open_handle()
    {
        var (id, content) = await CommitAsync();
        using var opened = (await _store.OpenAsync(id, null, CancellationToken.None))!;
        var start = new byte[1000];
        await opened.Content!.ReadExactlyAsync(start);

        Assert.True(_store.Delete(id));
        Assert.Null(await _store.OpenAsync(id, null, CancellationToken.None));

        using var rest = new MemoryStream();
        await opened.Content.CopyToAsync(rest);
        Assert.Equal(content, start.Concat(rest.ToArray()).ToArray());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), opened.Sha256);
    }

    [Fact]
    public async Task Leftovers_of_a_crash_are_removed_at_start_and_nothing_else_is()
    {
        var (id, _) = await CommitAsync();
        await File.WriteAllBytesAsync(_store.PrepareTempDump(NextId()), [1, 2, 3]);
        await File.WriteAllBytesAsync(Path.Combine(_directory, $"heapdump-{id}.dmp.zst.tmp"), [1]);
        var workspace = _store.CreateAnalysisWorkspace(id);
        await File.WriteAllBytesAsync(workspace.File("scratch.bin"), [1]);
        await File.WriteAllTextAsync(Path.Combine(_directory, "notes.tmp"), "not ours");

        Assert.Equal(3, _store.RemoveLeftovers());

        Assert.False(Directory.Exists(workspace.DirectoryPath));
        Assert.Equal(
            [$"heapdump-{id}.diagnostics.json", $"heapdump-{id}.dmp", $"heapdump-{id}.sha256", "notes.tmp"],
            Directory.GetFiles(_directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Analysis_results_are_committed_by_rename_and_deleted_with_the_dump()
    {
        var (id, _) = await CommitAsync();
        using (var workspace = _store.CreateAnalysisWorkspace(id))
        {
            await File.WriteAllTextAsync(workspace.File("out.json"), "{}");
            _store.CommitAnalysisResult(id, "summary", workspace.File("out.json"));
        }

        _store.WriteAnalysisResult(id, "retainers-ab", "[]"u8.ToArray());

        Assert.Equal("{}", await File.ReadAllTextAsync(_store.AnalysisResultPath(id, "summary")));
        Assert.Equal("[]", await File.ReadAllTextAsync(_store.AnalysisResultPath(id, "retainers-ab")));
        Assert.True(_store.Delete(id));
        Assert.Empty(Directory.GetFileSystemEntries(_directory));
    }

    public void Dispose()
    {
        _stores.ForEach(created => created.Dispose());
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>A store on this test's directory; several may share it, as an app restarted with other settings.</summary>
    private HeapDumpStore Store(int maxDumps = 100, long? maxTotalBytes = null)
    {
        var options = new HeapDumpStorageOptions { Directory = _directory, MaxDumps = maxDumps, MaxTotalBytes = maxTotalBytes };
        var created = new HeapDumpStore(Options.Create(options), TimeProvider.System, NullLogger<HeapDumpStore>.Instance);
        _stores.Add(created);
        return created;
    }

    private async Task<(HeapDumpId Id, byte[] Content)> CommitAsync()
    {
        var (id, content) = await WriteDumpAsync(64_000);
        await _store.CommitAsync(id, _collector.Collect("manual", 0), null, CancellationToken.None);
        return (id, content);
    }

    /// <summary>Dumps of these sizes, oldest first, committed by a store without limits; their ids, oldest first.</summary>
    private async Task<HeapDumpId[]> CommitManyAsync(params int[] sizes)
    {
        var unlimited = Store();
        var ids = new List<HeapDumpId>();
        foreach (var size in sizes)
        {
            var (id, _) = await WriteDumpAsync(size);
            await unlimited.CommitAsync(id, _collector.Collect("manual", 0), null, CancellationToken.None);
            ids.Add(id);
        }

        return [.. ids];
    }

    /// <summary>A dump at the temp path, created by "the writer" as createdump creates it.</summary>
    private async Task<(HeapDumpId Id, byte[] Content)> WriteDumpAsync(int size)
    {
        var id = NextId();
        var content = RandomNumberGenerator.GetBytes(size);
        await File.WriteAllBytesAsync(_store.PrepareTempDump(id), content);
        return (id, content);
    }

    private HeapDumpId NextId() => new(new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero).AddSeconds(++_clock), 42, "manual", 0, "heap");
}
