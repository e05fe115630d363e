using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests;

/// <summary>A bad setting stops start-up with a message naming the key and the fix, on an app with nothing but <c>AddHeapDiagnostics()</c>.</summary>
public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("HeapDiagnostics:ApiKeys:0", "too-short", "HeapDiagnostics:ApiKeys:0 is 9 characters long")]
    [InlineData("HeapDiagnostics:Storage:MaxDumps", "0", "HeapDiagnostics:Storage:MaxDumps must be at least 1")]
    [InlineData("HeapDiagnostics:Capture:DefaultType", "everything", "HeapDiagnostics:Capture:DefaultType must be one of heap, full, mini, triage")]
    [InlineData("HeapDiagnostics:RoutePrefix", "debug", "HeapDiagnostics:RoutePrefix must be a literal path starting with '/'")]
    [InlineData("HeapDiagnostics:Monitor:Interval", "00:00:00.01", "HeapDiagnostics:Monitor:Interval must be at least 00:00:00.1")]
    [InlineData("HeapDiagnostics:Monitor:ThresholdPercentOfLimit", "0", "HeapDiagnostics:Monitor:ThresholdPercentOfLimit must be above 0")]
    [InlineData("HeapDiagnostics:Analysis:MaxMemoryBytes", "1000", "HeapDiagnostics:Analysis:MaxMemoryBytes must be at least 67108864")]
    [InlineData("HeapDiagnostics:Analysis:SuspectThresholdPercent", "0", "HeapDiagnostics:Analysis:SuspectThresholdPercent must be more than 0")]
    [InlineData("HeapDiagnostics:Egress:Provider", "S3", "HeapDiagnostics:Egress:S3:Bucket is empty")]
    public async Task A_bad_value_stops_startup_naming_the_key(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(expected, error.Message);
        Assert.Single(error.Failures);
        Assert.DoesNotContain("too-short", error.Message.Replace(expected, string.Empty, StringComparison.Ordinal));
    }
}
