using Microsoft.Extensions.Options;
using HeapDiag.AspNetCore.Capture;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Validates <see cref="HeapDiagnosticsOptions"/> at start-up. Each failure names the configuration key
/// and says how to fix it, because the person reading it is usually editing an environment variable.
/// </summary>
internal sealed class HeapDiagnosticsOptionsValidator : IValidateOptions<HeapDiagnosticsOptions>
{
    internal const int MinimumApiKeyLength = 32;
    private const string Section = HeapDiagnosticsOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, HeapDiagnosticsOptions options)
    {
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.RoutePrefix) || !options.RoutePrefix.StartsWith('/') || options.RoutePrefix.Contains('{', StringComparison.Ordinal))
        {
            failures.Add($"{Section}:RoutePrefix is '{options.RoutePrefix}'; it must be a literal path starting with '/', for example '/debug'.");
        }

        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i] ?? string.Empty;
            if (key.Length < MinimumApiKeyLength)
            {
                // The key itself is never echoed: only its length.
                failures.Add($"{Section}:ApiKeys:{i} is {key.Length} characters long; API keys must be at least {MinimumApiKeyLength} characters. Generate one with 'openssl rand -hex 32'.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Role))
        {
            failures.Add($"{Section}:Role is empty; name the role that grants access, for example 'HeapDiagnostics'.");
        }

        if (string.IsNullOrWhiteSpace(options.Policy))
        {
            failures.Add($"{Section}:Policy is empty; name the authorization policy, for example 'HeapDiagnostics'.");
        }

        if (string.IsNullOrWhiteSpace(options.Storage.Directory))
        {
            failures.Add($"{Section}:Storage:Directory is empty; set it to a writable directory, for example '/var/dumps'.");
        }

        if (options.Storage.MaxDumps < 1)
        {
            failures.Add($"{Section}:Storage:MaxDumps is {options.Storage.MaxDumps}; it must be at least 1.");
        }

        if (options.Storage.MaxTotalBytes is <= 0)
        {
            failures.Add($"{Section}:Storage:MaxTotalBytes is {options.Storage.MaxTotalBytes}; it must be positive, or left unset for no limit.");
        }

        if (options.Storage.ReserveBytes < 0)
        {
            failures.Add($"{Section}:Storage:ReserveBytes is {options.Storage.ReserveBytes}; it must be zero or more.");
        }

        if (options.Capture.MinInterval < TimeSpan.Zero)
        {
            failures.Add($"{Section}:Capture:MinInterval is {options.Capture.MinInterval}; it must be zero or more, for example '00:01:00'.");
        }

        if (!HeapDumpTypes.TryParse(options.Capture.DefaultType, out _))
        {
            failures.Add($"{Section}:Capture:DefaultType is '{options.Capture.DefaultType}'; it must be one of {HeapDumpTypes.AllowedList}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
