using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests;

public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("HeapDiagnostics:ApiKeys:0", "too-short", "HeapDiagnostics:ApiKeys:0 is 9 characters long")]
    [InlineData("HeapDiagnostics:Storage:MaxDumps", "0", "HeapDiagnostics:Storage:MaxDumps is 0")]
    [InlineData("HeapDiagnostics:Capture:DefaultType", "everything", "HeapDiagnostics:Capture:DefaultType is 'everything'")]
    [InlineData("HeapDiagnostics:RoutePrefix", "debug", "HeapDiagnostics:RoutePrefix is 'debug'")]
    public void A_bad_value_stops_startup_naming_the_key(string key, string value, string expected)
    {
        using var factory = new SampleApiFactory(new Dictionary<string, string?> { [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("too-short", error.Message.Replace(expected, string.Empty, StringComparison.Ordinal));
    }
}
