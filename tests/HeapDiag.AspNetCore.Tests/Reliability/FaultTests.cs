using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeapDiag.AspNetCore.Tests.Reliability;

/// <summary>In every fault the app keeps serving, the error is clear, and nothing partial is kept.</summary>
[Collection(CaptureCollection.Name)]
[Trait("Category", ReliabilityReport.Category)]
public sealed class FaultTests(ReliabilityReport report)
{
    [RequiresTmpfsFact]
    public async Task The_disk_filling_during_a_write_leaves_no_partial_dump()
    {
        // A 2 MB file system: the disk guard expects no size for a mini dump, so the writer runs and hits ENOSPC.
        using var tmpfs = Tmpfs.Mount(2 << 20);
        var directory = Path.Combine(tmpfs.DirectoryPath, "dumps");
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:Directory"] = directory });

        using var response = await host.Client.PostAsync("/debug/heapdump?type=mini", null);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        Assert.Equal("InsufficientStorage", problem.GetProperty("failure").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        Assert.Empty(Directory.GetFiles(directory, "*.dmp*"));
        await AssertServingAsync(host.Client);

        report.Record("Faults", "disk full during a write",
            "Storage:Directory on a 2 MB tmpfs; POST /heapdump?type=mini (the disk guard expects no size for mini dumps, so the writer runs and hits ENOSPC)",
            $"{(int)response.StatusCode} {problem.GetProperty("failure").GetString()}: \"{problem.GetProperty("detail").GetString()}\" raw: \"{(problem.TryGetProperty("rawError", out var raw) ? raw.GetString() : null)}\"; no .dmp or .tmp left; /debug/memory 200");
    }

    [Fact]
    public async Task The_dump_directory_deleted_while_the_app_runs_is_recreated_by_the_next_capture()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use<FakeHeapDumpWriter>);
        var client = host.Client;
        (await client.PostAsync("/debug/heapdump", null)).Dispose();

        Directory.Delete(host.DumpDirectory, recursive: true);
        var list = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        using var capture = await client.PostAsync("/debug/heapdump", null);

        Assert.Empty(list.GetProperty("dumps").EnumerateArray());
        Assert.Equal(HttpStatusCode.Created, capture.StatusCode);
        Assert.Single(Directory.GetFiles(host.DumpDirectory, "*.dmp"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(host.DumpDirectory));
        }

        report.Record("Faults", "dump directory deleted while running",
            "one capture, then the whole Storage:Directory deleted, then GET /heapdump and another capture",
            "list 200 and empty; next capture 201, directory recreated 0700 with the one new dump");
    }

    [Fact]
    public async Task A_failing_dump_writer_answers_500_with_the_raw_error_and_keeps_nothing_partial()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use<FailingHeapDumpWriter>);
        var client = host.Client;

        using var response = await client.PostAsync("/debug/heapdump", null);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("0x80004005", problem.GetProperty("rawError").GetString());
        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.dmp*"));
        await AssertServingAsync(client);

        report.Record("Faults", "createdump fails",
            "a writer that writes 4 KB of the temp file, then fails as the runtime does (\"Write dump failed - HRESULT 0x80004005\")",
            $"500 {problem.GetProperty("failure").GetString()}: \"{problem.GetProperty("detail").GetString()}\"; temp file deleted; diagnostics kept ({problem.GetProperty("diagnosticsId").GetString()}); app serving");
    }

    [Fact]
    public async Task A_process_killed_during_a_capture_leaves_a_temp_file_that_the_restart_removes_and_never_lists()
    {
        var directory = Directory.CreateTempSubdirectory("heapdiag-kill-").FullName;
        try
        {
            string leftover;
            await using (var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>(), directory))
            {
                using var client = app.CreateAuthorizedClient();
                (await client.PostAsync("/leak/cache?mb=400", null)).Dispose();
                var capture = client.PostAsync("/debug/heapdump?type=heap", null);

                leftover = (await Poll.UntilAsync(
                    () => Task.FromResult(Directory.GetFiles(directory, "*.dmp.tmp").FirstOrDefault()), temp => temp is not null, "the dump writer's .tmp file"))!;
                app.Kill();
                await Assert.ThrowsAnyAsync<Exception>(() => capture);
            }

            Assert.True(File.Exists(leftover), "the kill should have left the unfinished dump behind");
            await using var restarted = await SampleApiProcess.StartAsync(new Dictionary<string, string>(), directory);
            using var admin = restarted.CreateAuthorizedClient();
            var list = await admin.GetFromJsonAsync<JsonElement>("/debug/heapdump");

            Assert.Empty(list.GetProperty("dumps").EnumerateArray());
            Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
            using var capabilities = await admin.GetAsync("/debug/heapdump/capabilities");
            Assert.Equal(HttpStatusCode.OK, capabilities.StatusCode);

            report.Record("Faults", "process killed during a capture",
                "SampleApi holding 400 MB; POST /heapdump?type=heap; once the .tmp file appeared, the app and createdump stopped and killed together (SIGSTOP, SIGKILL), as an OOM kill of the container ends both; restart on the same directory",
                $"{Path.GetFileName(leftover)} left by the kill; removed at restart; GET /heapdump empty; app serving");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_throwing_sampler_is_reported_by_the_monitor_while_the_app_keeps_serving()
    {
        await using var host = await TestHost.StartAsync(
            new Dictionary<string, string?> { ["HeapDiagnostics:Monitor:Enabled"] = "true", ["HeapDiagnostics:Monitor:Interval"] = "00:00:00.1" },
            services: services => services.Replace(ServiceDescriptor.Singleton<IMemorySampler, ThrowingSampler>()),
            map: app => app.MapGet("/hello", () => "Hello"));
        var client = host.Client;

        // At least two failed ticks: the second proves the loop went on after the first.
        var status = await Poll.UntilAsync(
            () => client.GetFromJsonAsync<JsonElement>("/debug/monitor"),
            status => status.GetProperty("lastError").ValueKind == JsonValueKind.Object && host.Logs.Entries.Count(e => e.EventId.Id == 3004) >= 2,
            "the monitor's last error and two failed ticks in the log");

        Assert.Equal(JsonValueKind.Object, status.GetProperty("lastError").ValueKind);
        Assert.Contains("cgroup files vanished", status.GetProperty("lastError").GetProperty("message").GetString());
        await AssertServingAsync(client);
        using var hello = await client.GetAsync("/hello");
        Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
        var errors = host.Logs.Entries.Count(e => e.EventId.Id == 3004);
        Assert.True(errors >= 2, $"{errors} tick failures logged: the loop should keep ticking");

        report.Record("Faults", "the sampler throws",
            "a sampler that throws on every tick, monitor at 100 ms",
            $"each tick logged and the next one ran ({errors} failures logged); /debug/monitor lastError: \"{status.GetProperty("lastError").GetProperty("message").GetString()}\"; /debug/memory and /hello 200");
    }

    private static async Task AssertServingAsync(HttpClient client)
    {
        using var memory = await client.GetAsync("/debug/memory");
        Assert.Equal(HttpStatusCode.OK, memory.StatusCode);
    }

    private sealed class ThrowingSampler : IMemorySampler
    {
        public MemorySample Sample() => throw new IOException("cgroup files vanished");
    }
}
