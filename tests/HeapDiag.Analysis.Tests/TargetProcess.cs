using System.Diagnostics;

namespace HeapDiag.Analysis.Tests;

/// <summary>
/// The test target (<c>HeapDiag.Analysis.TestTarget</c>) running as a real child process, driven through its
/// standard input. See the target's Program.cs for the commands.
/// </summary>
internal sealed class TargetProcess : IDisposable
{
    /// <summary>Guards against a hung child only; no test asserts how long anything takes.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromMinutes(3);

    private readonly Process _process;

    private TargetProcess(Process process) => _process = process;

    public static string AssemblyPath => Path.Combine(AppContext.BaseDirectory, "HeapDiag.Analysis.TestTarget.dll");

    /// <summary>The target's process id, for a diagnostics session on it.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Starts the target with <paramref name="markers"/> leaked markers and waits until it is ready.</summary>
    public static TargetProcess Start(int markers)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(AssemblyPath);
        startInfo.ArgumentList.Add(markers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var target = new TargetProcess(Process.Start(startInfo) ?? throw new InvalidOperationException("could not start the test target"));
        target._process.ErrorDataReceived += (_, _) => { };
        target._process.BeginErrorReadLine();
        target.WaitFor("ready");
        return target;
    }

    /// <summary>Sends one command and waits for <c>ok</c>.</summary>
    public void Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        if (command != "exit")
        {
            WaitFor("ok");
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                _process.Kill();
            }
        }

        _process.Dispose();
    }

    private void WaitFor(string expected)
    {
        // createdump, started by the runtime to write a dump, prints progress lines to the same output: skip them.
        var pending = _process.StandardOutput.ReadLineAsync();
        while (true)
        {
            if (!pending.Wait(AnswerTimeout))
            {
                throw new TimeoutException($"the test target did not answer '{expected}'");
            }

            var line = pending.Result;
            if (line is null)
            {
                throw new InvalidOperationException($"the test target exited before answering '{expected}'");
            }

            if (line == expected)
            {
                return;
            }

            if (line.StartsWith("error:", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the test target failed: {line}");
            }

            pending = _process.StandardOutput.ReadLineAsync();
        }
    }
}
