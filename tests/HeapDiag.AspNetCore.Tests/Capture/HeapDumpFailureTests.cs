using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace HeapDiag.AspNetCore.Tests.Capture;

/// <summary>Every failure answers with its documented status and a fix, leaves nothing partial, and the app keeps serving.</summary>
public sealed class HeapDumpFailureTests
{
    [Fact]
    public async Task Unknown_type_is_400_naming_the_allowed_types()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.Client.PostAsync("/debug/heapdump?type=everything", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("'heap', 'full', 'mini', 'triage'", problem!.Detail);
        Assert.Empty(Directory.GetFiles(host.DumpDirectory));
    }

    [Fact]
    public async Task Disk_guard_refuses_with_507_and_writes_nothing()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:ReserveBytes"] = (1L << 60).ToString() });
        var client = host.Client;

        using var response = await client.PostAsync("/debug/heapdump", null);

        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Contains("Storage:ReserveBytes", problem!.Detail);
        Assert.Empty(Directory.GetFiles(host.DumpDirectory));
        await AssertStillServing(client);
    }

    [Fact]
    public async Task Unwritable_directory_is_503_and_the_capabilities_say_why()
    {
        // Root ignores permission bits, so the directory is made impossible instead: it would sit under a file.
        var blocker = Path.GetTempFileName();
        try
        {
            await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:Directory"] = Path.Combine(blocker, "dumps") });
            var client = host.Client;

            using var response = await client.PostAsync("/debug/heapdump", null);
            var capabilities = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
            Assert.Contains("Storage:Directory", problem!.Detail);
            Assert.False(capabilities.GetProperty("canCapture").GetBoolean());
            Assert.Contains(capabilities.GetProperty("problems").EnumerateArray(), p => p.GetProperty("code").GetString() == "DirectoryNotWritable");
            Assert.Contains(host.Logs.Entries, e => e.Message.Contains("is not writable"));
            await AssertStillServing(client);
        }
        finally
        {
            File.Delete(blocker);
        }
    }

    [Fact]
    public async Task A_failing_writer_gives_500_with_the_raw_error_keeps_the_diagnostics_and_leaves_no_partial_dump()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use<FailingHeapDumpWriter>);
        var client = host.Client;

        using var response = await client.PostAsync("/debug/heapdump", null);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("WriterFailed", problem.GetProperty("failure").GetString());
        Assert.Contains("HRESULT 0x80004005", problem.GetProperty("rawError").GetString());
        Assert.Contains("SYS_PTRACE", problem.GetProperty("detail").GetString());
        var diagnosticsId = problem.GetProperty("diagnosticsId").GetString();

        Assert.Empty(Directory.GetFiles(host.DumpDirectory, "*.dmp*"));
        using var diagnostics = await client.GetAsync($"/debug/heapdump/{diagnosticsId}/diagnostics");
        Assert.Equal(HttpStatusCode.OK, diagnostics.StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps").EnumerateArray());
        await AssertStillServing(client);
    }

    [Fact]
    public async Task Leftovers_of_a_crashed_capture_are_removed_at_start_and_never_listed()
    {
        var directory = Directory.CreateTempSubdirectory("heapdiag-leftover-").FullName;
        var leftover = Path.Combine(directory, "heapdump-20261124T011500123Z-2477-manual-0-heap.dmp.tmp");
        var unrelated = Path.Combine(directory, "notes.txt");
        await File.WriteAllTextAsync(leftover, "half a dump");
        await File.WriteAllTextAsync(unrelated, "not ours");
        try
        {
            await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:Storage:Directory"] = directory });

            var list = await host.Client.GetFromJsonAsync<JsonElement>("/debug/heapdump");

            Assert.Empty(list.GetProperty("dumps").EnumerateArray());
            Assert.False(File.Exists(leftover));
            Assert.True(File.Exists(unrelated));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task With_diagnostics_disabled_in_a_real_process_capture_is_503_naming_the_variable()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string> { ["DOTNET_EnableDiagnostics"] = "0" });
        using var client = app.CreateAuthorizedClient();
        try
        {
            using var response = await client.PostAsync("/debug/heapdump", null);
            var capabilities = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("DiagnosticsDisabled", problem.GetProperty("failure").GetString());
            Assert.Contains("DOTNET_EnableDiagnostics=0", problem.GetProperty("detail").GetString());
            Assert.False(capabilities.GetProperty("canCapture").GetBoolean());
            Assert.Empty(Directory.GetFiles(app.DumpDirectory, "*.dmp*"));
            using var hello = await client.GetAsync("/hello");
            Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
        }
        finally
        {
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    private static async Task AssertStillServing(HttpClient client)
    {
        using var memory = await client.GetAsync("/debug/memory");
        Assert.Equal(HttpStatusCode.OK, memory.StatusCode);
    }
}
