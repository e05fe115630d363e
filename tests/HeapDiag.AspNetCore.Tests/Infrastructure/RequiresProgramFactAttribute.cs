using System.Diagnostics;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A fact that needs a program from outside the .NET SDK (chromium, docker-compose). Where the program is absent
/// the test is skipped with a message naming it; .ci/run installs every such program first, so CI skips none.
/// </summary>
public sealed class RequiresProgramFactAttribute : FactAttribute
{
    public RequiresProgramFactAttribute(string program, string install)
    {
        if (Programs.Find(program) is null)
        {
            Skip = $"{program} is not installed ({install}); .ci/run installs it.";
        }
    }
}

/// <summary>Finds programs on PATH.</summary>
public static class Programs
{
    public static string? Find(string program) =>
        Path.IsPathRooted(program)
            ? (File.Exists(program) ? program : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(directory => Path.Combine(directory, program))
                .FirstOrDefault(File.Exists);

    /// <summary>Runs a program to its end; its exit code and everything it wrote.</summary>
    public static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }
}

/// <summary>Where the repository is, for tests that read its deployment files.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "HeapDiag.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"HeapDiag.sln not found above {AppContext.BaseDirectory}.");
    }
}
