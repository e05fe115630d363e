using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using HeapDiag.Analyzer;

namespace HeapDiag.AspNetCore.Analyzer;

/// <summary>
/// How to start the analyzer: the runtime host (<c>dotnet</c>) the app itself runs on, the analyzer's assembly
/// beside the app's, and the app's dependency manifest so the analyzer finds ClrMD where the app's build put it. Or,
/// where there is none of that (a self-contained single-file app), why not and what to do.
/// </summary>
internal sealed class AnalyzerHost
{
    private const string Fix =
        "Publish the app framework-dependent and not as a single file (dotnet publish without -p:PublishSingleFile=true), " +
        "so that the runtime host and HeapDiag.Analyzer.dll are beside it; or set HeapDiagnostics:Analysis:Mode=Off and analyse the dumps " +
        "with 'heapdiag suspects FILE' on another machine (download them with GET /heapdump/{id}).";

    private AnalyzerHost(string? dotnetPath, string? analyzerPath, string? dependencyManifest, string? problem)
    {
        DotnetPath = dotnetPath;
        AnalyzerPath = analyzerPath;
        DependencyManifest = dependencyManifest;
        Problem = problem;
    }

    /// <summary>The runtime host (<c>dotnet</c>), or null.</summary>
    public string? DotnetPath { get; }

    /// <summary>The analyzer assembly, or null.</summary>
    public string? AnalyzerPath { get; }

    /// <summary>The app's <c>.deps.json</c>, when it lists the analyzer; otherwise the host probes the app's directory.</summary>
    public string? DependencyManifest { get; }

    /// <summary>Why the analyzer cannot be started here, or null when it can.</summary>
    public string? Problem { get; }

    /// <summary>What to do about <see cref="Problem"/>.</summary>
    public static string ProblemFix => Fix;

    public bool IsAvailable => Problem is null;

    /// <summary>Looks for the host and the analyzer as this process runs.</summary>
    public static AnalyzerHost Locate() =>
        Locate(Environment.ProcessPath, RuntimeEnvironment.GetRuntimeDirectory(), AppContext.BaseDirectory, Environment.GetEnvironmentVariable("DOTNET_ROOT"));

    /// <summary>Looks for the host and the analyzer for a process started as <paramref name="processPath"/>, running on <paramref name="runtimeDirectory"/>, from <paramref name="appDirectory"/>.</summary>
    internal static AnalyzerHost Locate(string? processPath, string runtimeDirectory, string appDirectory, string? dotnetRoot)
    {
        var dotnet = FindDotnet(processPath, runtimeDirectory, dotnetRoot);
        var analyzer = Path.Combine(appDirectory, AnalyzerProtocol.AssemblyFileName);
        if (dotnet is null)
        {
            return new AnalyzerHost(null, null, null,
                $"No .NET runtime host (dotnet) was found to start the analyzer process: this app runs as '{processPath}' on {runtimeDirectory}.");
        }

        if (!File.Exists(analyzer))
        {
            return new AnalyzerHost(dotnet, null, null,
                $"The analyzer assembly {AnalyzerProtocol.AssemblyFileName} is not in the app's directory {appDirectory} (a single-file or trimmed publish leaves it out).");
        }

        return new AnalyzerHost(dotnet, analyzer, FindDependencyManifest(), null);
    }

    /// <summary>Room for the analyzer's own native memory: its GC hard limit is its memory budget less this.</summary>
    public const long NativeAllowanceBytes = 32L << 20;

    /// <summary>
    /// How to start the analyzer with <paramref name="arguments"/>: through the app's runtime host with a runtime
    /// configuration written to <paramref name="runtimeConfig"/> (the app's runtime, workstation non-concurrent GC — one
    /// heap, no background GC thread — and <paramref name="gcHeapHardLimit"/>), all standard streams redirected, and
    /// nothing of the app's environment (keys, credentials, GC settings) but what a process needs.
    /// </summary>
    public ProcessStartInfo StartInfo(string runtimeConfig, long gcHeapHardLimit, IEnumerable<string> arguments, string workingDirectory)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException(Problem);
        }

        File.WriteAllText(runtimeConfig, RuntimeConfig(gcHeapHardLimit));
        var start = new ProcessStartInfo(DotnetPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        string[] host = DependencyManifest is { } manifest ? ["exec", "--runtimeconfig", runtimeConfig, "--depsfile", manifest] : ["exec", "--runtimeconfig", runtimeConfig];
        foreach (var argument in host.Append(AnalyzerPath!).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        // The test-only crash hook passes through so tests can prove how a crash is answered; only tests set it.
        foreach (var name in new[] { "PATH", "HOME", "TMPDIR", "LANG", AnalyzerProtocol.TestSignalVariable })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                start.Environment[name] = value;
            }
        }

        start.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(DotnetPath!);
        return start;
    }

    /// <summary>
    /// Starts the analyzer as <see cref="StartInfo"/> describes, with each line of its standard error passed to
    /// <paramref name="onErrorLine"/> (with the process id) and its standard output drained, so that neither pipe
    /// fills up and blocks it.
    /// </summary>
    public Process Start(string runtimeConfig, long gcHeapHardLimit, IEnumerable<string> arguments, string workingDirectory, Action<int, string> onErrorLine)
    {
        var process = new Process { StartInfo = StartInfo(runtimeConfig, gcHeapHardLimit, arguments, workingDirectory), EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is { Length: > 0 } text)
            {
                onErrorLine(process.Id, text);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    private static string RuntimeConfig(long gcHeapHardLimit) => new JsonObject
    {
        ["runtimeOptions"] = new JsonObject
        {
            ["tfm"] = $"net{Environment.Version.Major}.{Environment.Version.Minor}",
            ["framework"] = new JsonObject { ["name"] = "Microsoft.NETCore.App", ["version"] = Environment.Version.ToString() },
            ["configProperties"] = new JsonObject
            {
                ["System.GC.Server"] = false,
                ["System.GC.Concurrent"] = false,
                ["System.GC.HeapHardLimit"] = gcHeapHardLimit,
                ["System.Globalization.Invariant"] = true,
            },
        },
    }.ToJsonString();

    /// <summary>
    /// The <c>dotnet</c> that started this app, or the one whose shared runtime this app runs on
    /// (<c>{root}/shared/Microsoft.NETCore.App/{version}/</c>), or the one under <c>DOTNET_ROOT</c>.
    /// </summary>
    private static string? FindDotnet(string? processPath, string runtimeDirectory, string? dotnetRoot)
    {
        var executable = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (processPath is not null && Path.GetFileName(processPath) == executable && File.Exists(processPath))
        {
            return processPath;
        }

        var runtime = runtimeDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var root = Directory.GetParent(runtime)?.Parent?.Parent?.FullName;
        foreach (var candidate in new[] { root, dotnetRoot })
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(Path.Combine(candidate, executable)))
            {
                return Path.Combine(candidate, executable);
            }
        }

        return null;
    }

    private static string? FindDependencyManifest()
    {
        var manifest = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?.Split(Path.PathSeparator).FirstOrDefault();
        try
        {
            return manifest is not null && File.Exists(manifest) && File.ReadAllText(manifest).Contains("HeapDiag.Analyzer", StringComparison.Ordinal)
                ? manifest
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
