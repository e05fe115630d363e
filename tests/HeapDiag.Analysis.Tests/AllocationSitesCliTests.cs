using System.Diagnostics.Tracing;
using System.Text.Json;
using HeapDiag.Analysis.Allocations;
using Microsoft.Diagnostics.NETCore.Client;

namespace HeapDiag.Analysis.Tests;

/// <summary>
/// <c>heapdiag sites</c> over a trace recorded from a real process (as <c>dotnet-trace collect --profile gc-verbose</c>
/// would), and the pieces that turn stacks into what a person reads.
/// </summary>
public sealed class AllocationSitesCliTests
{
    [Fact]
    public void Sites_of_a_recorded_trace_name_the_method_that_allocates_the_type()
    {
        var directory = Directory.CreateTempSubdirectory("heapdiag-sites-");
        try
        {
            var trace = Path.Combine(directory.FullName, "leak.nettrace");
            using (var target = TargetProcess.Start(0))
            {
                Record(target, trace);
            }

            var run = CliRun.Of("sites", trace, "--type", "Order", "--type", "HeapDiag.Analysis.TestTarget.NeverAllocated", "--json");
            Assert.True(run.ExitCode == 0, run.Error);
            var report = JsonDocument.Parse(run.Output).RootElement;
            Assert.Equal(AllocationTrace.AllocationSampled, report.GetProperty("eventName").GetString());
            var orders = report.GetProperty("types")[0];
            Assert.Equal("HeapDiag.Analysis.TestTarget.Order", Assert.Single(orders.GetProperty("matchedTypes").EnumerateArray()).GetString());
            var top = orders.GetProperty("sites")[0];
            Assert.Equal("HeapDiag.Analysis.TestTarget.OrderCache.Add", top.GetProperty("allocatingMethod").GetString());
            Assert.True(top.GetProperty("sharePercent").GetDouble() > 50, orders.ToString());
            var never = report.GetProperty("types")[1];
            Assert.Equal(0, never.GetProperty("samples").GetInt64());
            Assert.Contains("has stopped", never.GetProperty("note").GetString());

            var text = CliRun.Of("sites", trace, "--type", "Order");
            Assert.Equal(0, text.ExitCode);
            Assert.Contains(text.OutputLines, line => line.Contains("added by HeapDiag.Analysis.TestTarget.OrderCache.Add", StringComparison.Ordinal));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_file_that_is_not_a_trace_is_reported_as_unusable()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "not a trace");
            var run = CliRun.Of("sites", file, "--type", "Order");
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("not a readable EventPipe trace", run.Error);
            Assert.Equal(2, CliRun.Of("sites", file + ".missing", "--type", "Order").ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("Orders.Api+<Place>d__3.MoveNext", "Orders.Api.Place")]
    [InlineData("Orders.Api+<>c.<Map>b__1_0", "Orders.Api.Map (lambda)")]
    [InlineData("Orders.Api+<>c__DisplayClass2_0.<Map>b__0", "Orders.Api.Map (lambda)")]
    [InlineData("Orders.Api.Place", "Orders.Api.Place")]
    public void Compiler_generated_frames_read_as_the_method_a_person_wrote(string frame, string readable) =>
        Assert.Equal(readable, StackFolder.Readable(frame));

    [Fact]
    public void The_app_frames_come_first_and_the_framework_frames_fold_by_kind()
    {
        string[] stack =
        [
            "System.Collections.Generic.List`1[System.__Canon].AddWithResize", "Orders.Api.Place", "Orders.Api.Place",
            "Microsoft.AspNetCore.Routing.EndpointMiddleware.Invoke", "System.Threading.ExecutionContext.RunInternal", "Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpProtocol.ProcessRequests",
        ];
        Assert.Equal(["Orders.Api.Place", "\u2026 2 .NET frames", "\u2026 2 ASP.NET Core frames"], StackFolder.Fold(stack));
        Assert.Equal("Orders.Api.Place", StackFolder.AppFrame(stack));
    }

    [Theory]
    [InlineData("System.Collections.Generic.List`1[Orders.Order]", "System.Collections.Generic.List<Orders.Order>", 0)]
    [InlineData("Orders.Order", "Order", 0)]
    [InlineData("Orders.Api+Order", "Order", 0)]
    [InlineData("Orders.BigOrder", "Order", -1)]
    public void Type_names_match_as_the_runtime_and_a_dump_spell_them(string runtimeName, string asked, int index) =>
        Assert.Equal(index, new AllocationTypeFilter([asked]).Match(runtimeName));

    /// <summary>Records the target's allocations (GC verbose and allocation sampling, with the rundown) while its orders leak.</summary>
    private static void Record(TargetProcess target, string path)
    {
        var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, 0x1 | 0x10 | 0x80000000000);
        using var session = new DiagnosticsClient(target.ProcessId).StartEventPipeSession([provider], requestRundown: true, circularBufferMB: 64);
        var copy = Task.Run(() =>
        {
            using var file = File.Create(path);
            session.EventStream.CopyTo(file);
        });
        for (var i = 0; i < 5; i++)
        {
            target.Send("leak orders 20000");
        }

        session.Stop();
        Assert.True(copy.Wait(TimeSpan.FromMinutes(2)), "the trace did not end after the session stopped");
    }
}
