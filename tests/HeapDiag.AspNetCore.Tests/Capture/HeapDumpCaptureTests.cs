using HeapDiag.Analysis.Internal;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.AspNetCore.Tests.Capture;

/// <summary>Captures of this process's real heap: what a dump holds, one capture at a time, retention after each.</summary>
[Collection(CaptureCollection.Name)]
public sealed class HeapDumpCaptureTests
{
    /// <summary>Held by a static collection, like the objects of a real leak.</summary>
    private static readonly List<CaptureMarker> Markers = [];

    [Fact]
    public async Task A_real_capture_holds_the_marker_instances_and_its_diagnostics_were_written_first()
    {
        const int markerCount = 12_345;
        lock (Markers)
        {
            Markers.Clear();
            Markers.AddRange(Enumerable.Range(0, markerCount).Select(i => new CaptureMarker(i)));
        }

        await using var host = await TestHost.StartAsync();

        using var response = await host.Client.PostAsync("/debug/heapdump", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(result.GetProperty("success").GetBoolean());
        var id = result.GetProperty("id").GetString()!;
        Assert.Equal($"/debug/heapdump/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("heap", result.GetProperty("type").GetString());
        Assert.Equal("manual", result.GetProperty("trigger").GetString());
        Assert.Equal(0, result.GetProperty("dumpNumber").GetInt32());
        Assert.True(result.GetProperty("durationMs").GetDouble() > 0);

        var dumpPath = result.GetProperty("heapPath").GetString()!;
        var diagPath = result.GetProperty("diagPath").GetString()!;
        Assert.Equal(new FileInfo(dumpPath).Length, result.GetProperty("sizeBytes").GetInt64());
        Assert.StartsWith(host.DumpDirectory, dumpPath);
        Assert.Contains($"-{Environment.ProcessId}-manual-0-heap", Path.GetFileName(dumpPath));

        // Measured first: their timestamp comes before the dump was finished. The dump's SHA-256 is added to them
        // once the dump is complete (and written beside it).
        using var diagnostics = JsonDocument.Parse(File.ReadAllText(diagPath));
        Assert.Equal("manual", diagnostics.RootElement.GetProperty("trigger").GetString());
        Assert.Equal(0, diagnostics.RootElement.GetProperty("dumpNumber").GetInt32());
        Assert.True(diagnostics.RootElement.GetProperty("timestamp").GetDateTimeOffset() <= File.GetLastWriteTimeUtc(dumpPath));
        var sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(dumpPath)));
        Assert.Equal(sha256, result.GetProperty("sha256").GetString());
        Assert.Equal(sha256, diagnostics.RootElement.GetProperty("dumpSha256").GetString());

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dumpPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(diagPath));
        }

        Assert.Equal(markerCount, CountInstances(dumpPath, typeof(CaptureMarker).FullName!));
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.tmp"));
        GC.KeepAlive(Markers);
    }

    [Fact]
    public async Task Twenty_concurrent_captures_give_exactly_one_dump_and_the_rest_409_or_429()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Capture:MinInterval"] = "00:10:00" });
        var client = host.Client;

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.PostAsync("/debug/heapdump?type=mini", null)));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        var unexpected = responses.FirstOrDefault(r => r.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.Conflict or HttpStatusCode.TooManyRequests));
        Assert.True(unexpected is null, $"{unexpected?.StatusCode}: {(unexpected is null ? null : await unexpected.Content.ReadAsStringAsync())}");
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.All(statuses.Where(s => s != HttpStatusCode.Created), s => Assert.True(s is HttpStatusCode.Conflict or HttpStatusCode.TooManyRequests, $"unexpected {s}"));
        foreach (var refused in responses.Where(r => r.StatusCode == HttpStatusCode.Conflict))
        {
            var problem = await refused.Content.ReadFromJsonAsync<ProblemDetails>();
            Assert.Contains("Another capture is running", problem!.Detail);
        }

        foreach (var refused in responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests))
        {
            Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        }

        Assert.Single(Directory.GetFiles(host.DumpDirectory, "*.dmp"));
        responses.ToList().ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task Retention_keeps_exactly_the_newest_MaxDumps()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:MaxDumps"] = "2" });
        var client = host.Client;

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await client.PostAsync("/debug/heapdump?type=triage", null);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
        }

        var listed = (await client.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps").EnumerateArray().Select(d => d.GetProperty("id").GetString()).ToList();
        Assert.Equal([ids[2], ids[1]], listed);
        Assert.Equal(2, Directory.GetFiles(host.DumpDirectory, "*.dmp").Length);
        Assert.Equal(2, Directory.GetFiles(host.DumpDirectory, "*.diagnostics.json").Length);
    }

    private static int CountInstances(string dumpPath, string typeName)
    {
        using var target = DataTarget.LoadDump(dumpPath);
        using var runtime = DumpSession.CreateRuntime(target.ClrVersions.Single());
        return runtime.Heap.EnumerateObjects().Count(obj => obj.Type?.Name == typeName);
    }
}

/// <summary>A type no other code allocates, so its count in a dump is exactly what the test made.</summary>
public sealed record CaptureMarker(int Index);
