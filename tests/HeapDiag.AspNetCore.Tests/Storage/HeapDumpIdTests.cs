using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Tests.Storage;

public sealed class HeapDumpIdTests
{
    [Fact]
    public void An_id_round_trips_through_its_text()
    {
        var id = new HeapDumpId(new DateTimeOffset(2026, 11, 24, 1, 15, 0, 123, TimeSpan.Zero), 2477, "auto", 3, "heap");

        Assert.Equal("20261124T011500123Z-2477-auto-3-heap", id.ToString());
        Assert.True(HeapDumpId.TryParse(id.ToString(), out var parsed));
        Assert.Equal(id, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../20261124T011500123Z-2477-auto-3-heap")]
    [InlineData("20261124T011500123Z-2477-auto-3-heap/..")]
    [InlineData("20261324T011500123Z-2477-auto-3-heap")]
    [InlineData("20261124T011500123Z-2477-other-3-heap")]
    [InlineData("20261124T011500123Z-2477-auto-3-heap\n")]
    public void Anything_else_is_rejected(string text) => Assert.False(HeapDumpId.TryParse(text, out _));
}
