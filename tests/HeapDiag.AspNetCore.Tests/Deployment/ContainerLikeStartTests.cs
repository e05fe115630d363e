using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Deployment;

/// <summary>
/// No Docker engine runs on the build machines, so the image is checked the next best way: the published app is
/// started exactly as the image's entrypoint starts it, with the environment the Dockerfile and docker-compose.yml
/// set (read from those files, so they cannot drift apart from this test), container paths moved under a temp root.
/// </summary>
public sealed partial class ContainerLikeStartTests
{
    [Fact]
    public async Task The_published_app_started_like_the_image_serves_health_and_authorized_memory()
    {
        var root = Directory.CreateTempSubdirectory("heapdiag-container-").FullName;
        try
        {
            var app = Path.Combine(root, "app");
            await RunAsync("dotnet", ["publish", Path.Combine(Repository.Root, "src/SampleApi/SampleApi.csproj"), "-c", "Release", "-o", app, "--nologo"]);

            var environment = new Dictionary<string, string>();
            foreach (var (key, value) in DockerfileEnvironment().Concat(ComposeEnvironment()))
            {
                environment[key] = value.StartsWith('/') ? root + value : value;   // container paths under the temp root
            }

            Assert.Equal(root + "/dumps", environment["HeapDiagnostics__Storage__Directory"]);
            Assert.Equal("75", environment["HeapDiagnostics__Monitor__ThresholdPercentOfLimit"]);
            Directory.CreateDirectory(environment["HeapDiagnostics__Storage__Directory"]);

            var port = FreePort();
            environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
            using var process = Start(Path.Combine(app, "SampleApi.dll"), app, environment);
            try
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                await WaitForHealthAsync(client, process);

                using var anonymous = await client.GetAsync("/debug/memory");
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

                client.DefaultRequestHeaders.Add("X-Api-Key", TestHost.ApiKey);
                using var memory = await client.GetAsync("/debug/memory");
                Assert.Equal(HttpStatusCode.OK, memory.StatusCode);
                var monitor = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
                Assert.Equal(75, monitor.GetProperty("threshold").GetProperty("percentOfLimit").GetDouble());
                var capabilities = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");
                Assert.Equal(root + "/dumps", capabilities.GetProperty("directory").GetString());

                // The analyzer ships in the publish output and runs from there, through the app's own host.
                Assert.True(File.Exists(Path.Combine(app, "HeapDiag.Analyzer.dll")));
                Assert.True(capabilities.GetProperty("analysis").GetProperty("canAnalyze").GetBoolean(), capabilities.ToString());
                using var capture = await client.PostAsync("/debug/heapdump", null);
                Assert.Equal(HttpStatusCode.Created, capture.StatusCode);
                var id = (await capture.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
                using var suspects = await client.GetAsync($"/debug/heapdump/{id}/suspects");
                Assert.Equal(HttpStatusCode.OK, suspects.StatusCode);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [RequiresProgramFact("docker-compose", "apt-get install docker-compose")]
    public async Task Docker_compose_accepts_the_file_and_refuses_to_start_without_a_key()
    {
        var withKey = await RunAsync("docker-compose", ["-f", Path.Combine(Repository.Root, "docker-compose.yml"), "config", "-q"], new() { ["HEAPDIAG_API_KEY"] = TestHost.ApiKey }, check: false);
        var withoutKey = await RunAsync("docker-compose", ["-f", Path.Combine(Repository.Root, "docker-compose.yml"), "config", "-q"], new() { ["HEAPDIAG_API_KEY"] = string.Empty }, check: false);

        Assert.True(withKey.ExitCode == 0, withKey.Output);
        Assert.NotEqual(0, withoutKey.ExitCode);
        Assert.Contains("HEAPDIAG_API_KEY", withoutKey.Output);
    }

    [Fact]
    public void The_image_runs_as_non_root_with_a_dumps_volume_and_checks_for_createdump()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Repository.Root, "src/SampleApi/Dockerfile"));

        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build", dockerfile);
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0", dockerfile);
        Assert.Matches(@"(?m)^USER app$", dockerfile);
        Assert.Matches(@"(?m)^VOLUME /dumps$", dockerfile);
        Assert.Contains("createdump", dockerfile);
        Assert.False(File.Exists(Path.Combine(Repository.Root, ".env")) && IsTracked(".env"), ".env must never be committed");
        Assert.True(File.Exists(Path.Combine(Repository.Root, ".env.example")));
    }

    private static IEnumerable<KeyValuePair<string, string>> DockerfileEnvironment()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Repository.Root, "src/SampleApi/Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        foreach (Match instruction in EnvInstruction().Matches(dockerfile))
        {
            foreach (Match pair in EnvPair().Matches(instruction.Groups[1].Value))
            {
                yield return new(pair.Groups[1].Value, pair.Groups[2].Value);
            }
        }
    }

    internal static IEnumerable<KeyValuePair<string, string>> ComposeEnvironment()
    {
        var inEnvironment = false;
        foreach (var line in File.ReadLines(Path.Combine(Repository.Root, "docker-compose.yml")))
        {
            if (line.Trim() == "environment:")
            {
                inEnvironment = true;
                continue;
            }

            if (!inEnvironment || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            var entry = ComposeEntry().Match(line);
            if (!entry.Success)
            {
                inEnvironment = false;
                continue;
            }

            var value = entry.Groups[2].Value.Trim().Trim('"');

            // As compose does with the variable unset: ${NAME:-default} and ${NAME-default} become the default.
            yield return new(
                entry.Groups[1].Value,
                value.StartsWith("${HEAPDIAG_API_KEY", StringComparison.Ordinal) ? TestHost.ApiKey : ComposeDefault().Replace(value, match => match.Groups[1].Value));
        }
    }

    private static Process Start(string dll, string workingDirectory, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { ArgumentList = { dll }, WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static Task WaitForHealthAsync(HttpClient client, Process process) => Poll.UntilAsync(
        async () =>
        {
            Assert.False(process.HasExited, "the app exited before serving");
            try
            {
                using var health = await client.GetAsync("/health");
                return health.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        },
        "/health to answer 200",
        TimeSpan.FromSeconds(60));

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments, Dictionary<string, string>? environment = null, bool check = true)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repository.Root };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        if (check && process.ExitCode != 0)
        {
            Assert.Fail($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{output}");
        }

        return (process.ExitCode, output);
    }

    private static bool IsTracked(string path)
    {
        var git = Process.Start(new ProcessStartInfo("git", ["ls-files", "--error-unmatch", path]) { WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true })!;
        git.WaitForExit();
        return git.ExitCode == 0;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"(?m)^ENV\s+(.+)$")]
    private static partial Regex EnvInstruction();

    [GeneratedRegex(@"(\w+)=(\S+)")]
    private static partial Regex EnvPair();

    [GeneratedRegex(@"^\s{6}(\w+):\s*(.+)$")]
    private static partial Regex ComposeEntry();

    [GeneratedRegex(@"\$\{\w+:?-([^}]*)\}")]
    private static partial Regex ComposeDefault();
}
