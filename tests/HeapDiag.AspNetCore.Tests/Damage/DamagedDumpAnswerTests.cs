using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using HeapDiag.Analyzer;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>
/// A damaged dump is a finding, answered 422 <c>DumpDamaged</c>: a dump whose SHA-256 no longer matches the one
/// recorded at capture (before any analyzer starts, and for downloads unless <c>verify=false</c>), and an analyzer that
/// dies of a signal in the runtime's data access library (the signal named, in the answer and the automatic report).
/// </summary>
[Collection(CaptureCollection.Name)]
public sealed class DamagedDumpAnswerTests(RealDump dump) : IClassFixture<RealDump>
{
    private const int AnalyzerStarted = 4201;

    [Fact]
    public async Task A_dump_modified_on_disk_is_422_before_any_analyzer_starts_and_verify_false_still_downloads_it()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use(new SizedDumpWriter(8L << 20)));
        var damaged = (await host.CaptureResultAsync()).GetProperty("id").GetString()!;
        var intact = (await host.CaptureResultAsync()).GetProperty("id").GetString()!;
        var path = Path.Combine(host.DumpDirectory, $"heapdump-{damaged}.dmp");
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = 5 << 20;
            file.WriteByte(0x5A);
            file.WriteByte(0xA5);
        }

        // Some file systems keep the time in whole seconds: move it on so the change cannot hide behind the cache.
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(2));

        // A diff reads its baseline first: the damaged dump is the baseline here, so no analyzer starts for the other.
        foreach (var route in new[] { $"{damaged}/summary", $"{damaged}/suspects", $"{damaged}/retainers?type=Order", $"{intact}/diff/{damaged}" })
        {
            using var analysis = await host.Client.GetAsync($"/debug/heapdump/{route}");
            await AssertDamagedAsync(analysis, "no longer matches the one recorded at capture");
        }

        Assert.DoesNotContain(host.Logs.Entries, entry => entry.EventId.Id == AnalyzerStarted);
        using (var download = await host.Client.GetAsync($"/debug/heapdump/{damaged}"))
        {
            await AssertDamagedAsync(download, "verify=false");
        }

        using (var forensic = await host.Client.GetAsync($"/debug/heapdump/{damaged}?verify=false"))
        {
            Assert.Equal(HttpStatusCode.OK, forensic.StatusCode);
            Assert.Equal(SHA256.HashData(await File.ReadAllBytesAsync(path)), SHA256.HashData(await forensic.Content.ReadAsByteArrayAsync()));
        }

        using (var good = await host.Client.GetAsync($"/debug/heapdump/{intact}"))
        {
            Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        }

        using var badFlag = await host.Client.GetAsync($"/debug/heapdump/{intact}?verify=perhaps");
        Assert.Equal(HttpStatusCode.BadRequest, badFlag.StatusCode);
    }

    [Theory]
    [InlineData("SIGSEGV")]
    [InlineData("SIGBUS")]
    public async Task An_analyzer_killed_by_a_signal_is_422_dump_damaged_naming_the_signal_in_the_answer_and_the_automatic_report(string signal)
    {
        await using var host = await TestHost.StartAsync();
        var id = RealDump.IdFor(signal.Length);
        File.Copy(dump.Path, Path.Combine(host.DumpDirectory, id.DumpFileName));
        Environment.SetEnvironmentVariable(AnalyzerProtocol.TestSignalVariable, $"{signal}:{id.DumpFileName}");
        try
        {
            using var summary = await host.Client.GetAsync($"/debug/heapdump/{id}/summary");
            var problem = await AssertDamagedAsync(summary, $"crashed reading this dump ({signal}");
            Assert.Equal(signal, problem.GetProperty("signal").GetString());
            Assert.Contains(host.Logs.Entries, entry => entry.EventId.Id == 4203 && entry.Message.EndsWith($"code {128 + (signal == "SIGSEGV" ? 11 : 7)}", StringComparison.Ordinal));

            var report = await host.Services.GetRequiredService<IAutoDumpReporter>().ReportAsync(id.ToString(), null, CancellationToken.None);
            Assert.StartsWith($"The automatic dump {id} could not be analysed: the dump is damaged (the runtime's data access library crashed reading this dump ({signal}", report!.Headline, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AnalyzerProtocol.TestSignalVariable, null);
        }
    }

    private static async Task<JsonElement> AssertDamagedAsync(HttpResponseMessage response, string detail)
    {
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{(int)response.StatusCode}: {problem}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("DumpDamaged", problem.GetProperty("failure").GetString());
        Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("fix").GetString()));
        return problem;
    }
}
