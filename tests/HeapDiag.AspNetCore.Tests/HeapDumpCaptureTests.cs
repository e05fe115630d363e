using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.AspNetCore.Tests;

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

        using var factory = new SampleApiFactory();
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsync("/debug/heapdump", null);

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
        Assert.StartsWith(factory.DumpDirectory, dumpPath);
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
        Assert.Empty(Directory.GetFiles(factory.DumpDirectory, "*.tmp"));
        GC.KeepAlive(Markers);
    }

    [Fact]
    public async Task A_dump_can_be_listed_downloaded_in_ranges_and_deleted()
    {
        using var factory = new SampleApiFactory();
        using var client = factory.CreateAuthorizedClient();
        using var created = await client.PostAsync("/debug/heapdump?type=mini", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var list = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        var item = Assert.Single(list.GetProperty("dumps").EnumerateArray());
        Assert.Equal(id, item.GetProperty("id").GetString());
        Assert.Equal("mini", item.GetProperty("type").GetString());
        Assert.Equal($"/debug/heapdump/{id}", item.GetProperty("links").GetProperty("download").GetString());

        var onDisk = await File.ReadAllBytesAsync(Path.Combine(factory.DumpDirectory, $"heapdump-{id}.dmp"));
        using var download = await client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal($"heapdump-{id}.dmp", download.Content.Headers.ContentDisposition?.FileNameStar ?? download.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal(onDisk, await download.Content.ReadAsByteArrayAsync());

        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, $"/debug/heapdump/{id}");
        rangeRequest.Headers.Range = new RangeHeaderValue(100, 199);
        using var range = await client.SendAsync(rangeRequest);
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(onDisk[100..200], await range.Content.ReadAsByteArrayAsync());

        using var diagnostics = await client.GetAsync($"/debug/heapdump/{id}/diagnostics");
        Assert.Equal(HttpStatusCode.OK, diagnostics.StatusCode);
        Assert.Equal("manual", (await diagnostics.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("trigger").GetString());

        using var deleted = await client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await client.GetAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var deletedAgain = await client.DeleteAsync($"/debug/heapdump/{id}");
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
        Assert.Empty(Directory.GetFiles(factory.DumpDirectory));
    }

    [Fact]
    public async Task Download_true_captures_and_streams_the_dump_in_one_response()
    {
        using var factory = new SampleApiFactory();
        using var client = factory.CreateAuthorizedClient();

        using var response = await client.PostAsync("/debug/heapdump?type=mini&download=true", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsByteArrayAsync();
        var file = Assert.Single(Directory.GetFiles(factory.DumpDirectory, "*.dmp"));
        Assert.Equal(await File.ReadAllBytesAsync(file), body);
        Assert.EndsWith(Path.GetFileNameWithoutExtension(file)["heapdump-".Length..], response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Twenty_concurrent_captures_give_exactly_one_dump_and_the_rest_409_or_429()
    {
        using var factory = new SampleApiFactory(new Dictionary<string, string?> { ["HeapDiagnostics:Capture:MinInterval"] = "00:10:00" });
        using var client = factory.CreateAuthorizedClient();
        client.Timeout = TimeSpan.FromMinutes(3);

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

        Assert.Single(Directory.GetFiles(factory.DumpDirectory, "*.dmp"));
        responses.ToList().ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task Retention_keeps_exactly_the_newest_MaxDumps()
    {
        using var factory = new SampleApiFactory(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:MaxDumps"] = "2" });
        using var client = factory.CreateAuthorizedClient();

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await client.PostAsync("/debug/heapdump?type=triage", null);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
        }

        var listed = (await client.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps").EnumerateArray().Select(d => d.GetProperty("id").GetString()).ToList();
        Assert.Equal([ids[2], ids[1]], listed);
        Assert.Equal(2, Directory.GetFiles(factory.DumpDirectory, "*.dmp").Length);
        Assert.Equal(2, Directory.GetFiles(factory.DumpDirectory, "*.diagnostics.json").Length);
    }

    private static int CountInstances(string dumpPath, string typeName)
    {
        using var target = DataTarget.LoadDump(dumpPath);
        using var runtime = target.ClrVersions.Single().CreateRuntime();
        return runtime.Heap.EnumerateObjects().Count(obj => obj.Type?.Name == typeName);
    }
}

/// <summary>A type no other code allocates, so its count in a dump is exactly what the test made.</summary>
public sealed record CaptureMarker(int Index);
