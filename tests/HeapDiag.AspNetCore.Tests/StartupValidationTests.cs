using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests;

/// <summary>A bad setting stops start-up with a message naming the key and the fix, on an app with nothing but <c>AddHeapDiagnostics()</c>.</summary>
public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("HeapDiagnostics:ApiKeys:0", "too-short", "HeapDiagnostics:ApiKeys:0 is 9 characters long")]
    [InlineData("HeapDiagnostics:Storage:MaxDumps", "0", "HeapDiagnostics:Storage:MaxDumps is 0")]
    [InlineData("HeapDiagnostics:Capture:DefaultType", "everything", "HeapDiagnostics:Capture:DefaultType is 'everything'")]
    [InlineData("HeapDiagnostics:RoutePrefix", "debug", "HeapDiagnostics:RoutePrefix is 'debug'")]
    [InlineData("HeapDiagnostics:Analysis:MaxMemoryBytes", "1000", "HeapDiagnostics:Analysis:MaxMemoryBytes is 1000")]
    [InlineData("HeapDiagnostics:Analysis:SuspectThresholdPercent", "0", "HeapDiagnostics:Analysis:SuspectThresholdPercent is 0")]
    public async Task A_bad_value_stops_startup_naming_the_key(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("too-short", error.Message.Replace(expected, string.Empty, StringComparison.Ordinal));
    }
}
