using HeapDiag.Analysis;
using HeapDiag.Analysis.Internal;
using Microsoft.Extensions.Time.Testing;

namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>
/// ClrMD cannot be interrupted, and on some damaged dumps reading the static fields ran for minutes. The guard gives up
/// on work that makes no progress for its limit: the dump is refused as damaged, and the stuck thread and ClrMD's
/// objects it uses are left behind rather than disposed under it.
/// </summary>
public sealed class ReaderStallGuardTests(RealDump dump) : IClassFixture<RealDump>
{
    [Fact]
    public void Work_that_stops_making_progress_is_refused_as_damage_and_the_dump_is_abandoned()
    {
        // Each reading of the clock moves it 10 s on: the guard, which looks about once a second, sees the limit pass in seconds.
        var time = new FakeTimeProvider { AutoAdvanceAmount = TimeSpan.FromSeconds(10) };
        using var release = new ManualResetEventSlim();
        var session = DumpSession.Open(dump.Path, time: time);
        try
        {
            var error = Assert.Throws<HeapDumpDamagedException>(() => ReaderStallGuard.Run(
                session,
                "the static fields of its types",
                progress =>
                {
                    progress();
                    release.Wait();
                },
                time,
                CancellationToken.None));

            Assert.Contains("made no progress for 45 s reading the static fields of its types", error.Message, StringComparison.Ordinal);
            Assert.True(session.Abandoned);
        }
        finally
        {
            release.Set();
            session.Dispose();
        }
    }

    [Fact]
    public void Work_that_finishes_returns_and_its_exceptions_come_out_as_they_are()
    {
        using var session = DumpSession.Open(dump.Path);
        var steps = 0;

        ReaderStallGuard.Run(session, "steps", progress => steps = Enumerable.Range(0, 3).Count(_ => { progress(); return true; }), session.Time, CancellationToken.None);
        var error = Assert.Throws<InvalidDataException>(() => ReaderStallGuard.Run(session, "steps", _ => throw new InvalidDataException("bad field"), session.Time, CancellationToken.None));

        Assert.Equal(3, steps);
        Assert.Equal("bad field", error.Message);
        Assert.False(session.Abandoned);
    }
}
