using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// SampleApi started as a real process on 127.0.0.1, for behaviour that needs its own process (environment
/// variables the runtime reads at start, a kill in the middle of a capture). Killed and cleaned up on dispose.
/// </summary>
public sealed class SampleApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private SampleApiProcess(Process process, Uri baseAddress, string dumpDirectory)
    {
        _process = process;
        BaseAddress = baseAddress;
        DumpDirectory = dumpDirectory;
    }

    public Uri BaseAddress { get; }

    /// <summary>The app's process id (with a cgroup, the shell's, which became the app).</summary>
    public int ProcessId => _process.Id;

    public string DumpDirectory { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="environment">Settings on top of the test defaults.</param>
    /// <param name="dumpDirectory">Where dumps go; a new temp directory when null.</param>
    /// <param name="cgroup">A memory cgroup the app (and what it starts) runs in, as in a container with a memory limit.</param>
    public static async Task<SampleApiProcess> StartAsync(IDictionary<string, string> environment, string? dumpDirectory = null, MemoryCgroup? cgroup = null)
    {
        var port = FreePort();
        dumpDirectory ??= Directory.CreateTempSubdirectory("heapdiag-proc-").FullName;
        var sampleDll = Path.Combine(AppContext.BaseDirectory, "SampleApi.dll");
        var start = new ProcessStartInfo(cgroup is null ? "dotnet" : "/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        if (cgroup is not null)
        {
            // The shell joins the group, then becomes the app: everything the app starts is in the group too.
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("echo $$ > \"$0\" && exec dotnet \"$@\"");
            start.ArgumentList.Add(cgroup.ProcessesFile);
        }

        foreach (var argument in new[] { sampleDll, "--urls", $"http://127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["HeapDiagnostics__ApiKeys__0"] = TestHost.ApiKey;
        start.Environment["HeapDiagnostics__Storage__Directory"] = dumpDirectory;
        start.Environment["HeapDiagnostics__Storage__ReserveBytes"] = "0";
        start.Environment["HeapDiagnostics__Capture__MinInterval"] = "00:00:00";
        // No allocation sampling after automatic reports unless a test asks for it: it would add its window to every report.
        start.Environment["HeapDiagnostics__Analysis__AllocationSites__Duration"] = "00:00:00";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var started = new SampleApiProcess(process, new Uri($"http://127.0.0.1:{port}"), dumpDirectory);
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await started.WaitUntilServingAsync();
        return started;
    }

    public HttpClient CreateAuthorizedClient()
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        client.DefaultRequestHeaders.Add("X-Api-Key", TestHost.ApiKey);
        return client;
    }

    /// <summary>
    /// Kills the app and its children (the dump writer) at once, as a container's OOM kill ends every process of the
    /// cgroup: all are stopped first, so neither can react to the other's death (createdump deletes its unfinished
    /// file when its target dies, and the app deletes it when its writer dies), then killed.
    /// </summary>
    public void Kill()
    {
        var pids = string.Join(' ', Children(_process.Id).Prepend(_process.Id));
        foreach (var signal in new[] { "-STOP", "-KILL" })
        {
            using var kill = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"kill {signal} {pids}"]))!;
            kill.WaitForExit();
        }
    }

    private static IEnumerable<int> Children(int pid)
    {
        var tasks = $"/proc/{pid}/task";
        return Directory.Exists(tasks)
            ? Directory.EnumerateDirectories(tasks)
                .Select(task => Path.Combine(task, "children"))
                .Where(File.Exists)
                .SelectMany(file => File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Select(int.Parse)
                .ToList()
            : [];
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task WaitUntilServingAsync()
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Poll.UntilAsync(
                async () =>
                {
                    if (_process.HasExited)
                    {
                        throw new InvalidOperationException($"SampleApi exited with {_process.ExitCode} before serving:\n{Output}");
                    }

                    try
                    {
                        using var response = await client.GetAsync("/hello");
                        return response.IsSuccessStatusCode;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        return false;
                    }
                },
                "SampleApi to serve GET /hello",
                TimeSpan.FromSeconds(90));
        }
        catch (Xunit.Sdk.FailException)
        {
            throw new TimeoutException($"SampleApi did not serve within 90 s:\n{Output}");
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
