using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A storage emulator from npm (s3rver, Azurite) run by a test: found at an environment variable or in the repository's
/// gitignored <c>.tools/</c> (where .ci/run installs it), started on 127.0.0.1 at a free port with a fresh temp
/// directory, awaited until it says it listens (node loads slowly on a busy machine: up to two minutes), killed and its
/// directory deleted on dispose.
/// </summary>
public sealed class NpmServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private NpmServer(Process process, string name, int port, string directory)
    {
        _process = process;
        Name = name;
        Port = port;
        Directory = directory;
    }

    public string Name { get; }

    public int Port { get; }

    public string Directory { get; }

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

    /// <summary>The program at <c>$<paramref name="variable"/></c>, else <c>.tools/node_modules/.bin/<paramref name="program"/></c> (with node on PATH); null when absent.</summary>
    public static string? Find(string variable, string program)
    {
        var configured = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        var local = Path.Combine(Repository.Root, ".tools", "node_modules", ".bin", program);
        return File.Exists(local) && Programs.Find("node") is not null ? local : null;
    }

    /// <summary>
    /// Starts <paramref name="executable"/> with the arguments <paramref name="arguments"/> makes of (directory, port), and
    /// waits until it prints <paramref name="ready"/>.
    /// </summary>
    public static async Task<NpmServer> StartAsync(string name, string executable, string ready, Func<string, string, IEnumerable<string>> arguments)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory($"heapdiag-{name}-").FullName;
        var port = FreePort();
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments(directory, port.ToString(CultureInfo.InvariantCulture)))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start.");
        var server = new NpmServer(process, name, port, directory);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitUntilListeningAsync(ready);
        return server;
    }

    /// <summary>A port nothing listens on (taken and released at once): an endpoint that refuses every connection.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the server at once, as a crash or a network cut would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        await Task.Yield();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by the dying server: the temp directory is cleaned by the OS eventually.
        }
    }

    private async Task WaitUntilListeningAsync(string ready)
    {
        try
        {
            await Poll.UntilAsync(
                () => _process.HasExited ? throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}: {Output}") : Output.Contains(ready, StringComparison.OrdinalIgnoreCase),
                $"{Name} to listen on 127.0.0.1:{Port}",
                TimeSpan.FromSeconds(120));
        }
        catch
        {
            Kill();
            throw;
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
}
