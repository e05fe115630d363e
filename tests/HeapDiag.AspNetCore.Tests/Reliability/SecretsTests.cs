using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Reliability;

/// <summary>Diagnostics carry no environment, keys or connection strings; logs carry no key; files are owner-only.</summary>
[Collection(CaptureCollection.Name)]
[Trait("Category", ReliabilityReport.Category)]
public sealed class SecretsTests(ReliabilityReport report)
{
    private const string ConnectionSecret = "hunter2-connection-password";
    private const string EnvironmentSecret = "env-secret-7c1e0b";

    [Fact]
    public async Task Diagnostics_and_logs_hold_no_secrets_and_files_are_owner_only()
    {
        Environment.SetEnvironmentVariable("HEAPDIAG_TEST_SECRET", EnvironmentSecret);
        try
        {
            await using var host = await TestHost.StartAsync(
                new Dictionary<string, string?>
                {
                    ["ConnectionStrings:Orders"] = $"Server=db;Password={ConnectionSecret}",

                    // In the configuration too, as an app's environment-variables provider puts it there.
                    ["HEAPDIAG_TEST_SECRET"] = EnvironmentSecret,
                },
                services: TestWriters.Use<FakeHeapDumpWriter>);
            var client = host.Client;

            var memory = await client.GetStringAsync("/debug/memory");
            using var capture = await client.PostAsync("/debug/heapdump", null);
            var result = await capture.Content.ReadFromJsonAsync<JsonElement>();
            var dumpPath = result.GetProperty("heapPath").GetString()!;
            var diagnosticsPath = result.GetProperty("diagPath").GetString()!;
            var diagnostics = await File.ReadAllTextAsync(diagnosticsPath);
            var logs = string.Join('\n', host.Logs.Entries.Select(e => e.Message + e.Exception));

            string[] secrets = [ConnectionSecret, EnvironmentSecret, "HEAPDIAG_TEST_SECRET", TestHost.ApiKey];
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, memory);
                Assert.DoesNotContain(secret, diagnostics);
                Assert.DoesNotContain(secret, logs);
            }

            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dumpPath));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(diagnosticsPath));
            }

            report.Record("Secrets", "diagnostics, logs and file modes",
                "a connection string, an environment variable and the API key present in the process; GET /debug/memory, one capture, every log line kept",
                $"none of the {secrets.Length} secrets in /debug/memory ({memory.Length:N0} chars), the diagnostics file or {host.Logs.Entries.Count} log lines; dump and diagnostics 0600");
        }
        finally
        {
            Environment.SetEnvironmentVariable("HEAPDIAG_TEST_SECRET", null);
        }
    }
}
