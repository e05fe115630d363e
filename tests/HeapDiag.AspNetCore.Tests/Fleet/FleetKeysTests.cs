using HeapDiag.AspNetCore.Fleet;

namespace HeapDiag.AspNetCore.Tests.Fleet;

/// <summary>Any key in a bucket is sorted, never an exception: anyone with write access may put anything there.</summary>
public sealed class FleetKeysTests
{
    [Fact]
    public void Keys_of_any_shape_are_sorted_into_records_dumps_and_ignored()
    {
        string[] keys =
        [
            "p/orders/1-ab/instance.json.zst",
            "p/orders/1-ab/heapdump-20261124T011500123Z-2477-manual-0-heap.dmp.zst",
            "p/orders/1-ab/heapdump-20261124T011500123Z-2477-manual-0-heap.diagnostics.json",
            "p/orders/1-ab/heapdump-20261124T011500123Z-2477-manual-0-heap.suspects.json.zst",
            "p/orders/1-ab/heapdump-zz.suspects.json.zst",
            "p/orders/1-ab/heapdump-.dmp",
            "p/orders/1-ab/heapdump-20261124T011500123Z-2477-manual-0-heap",
            "p/orders/1-ab/heapdump-99999999T999999999Z-2477-manual-0-heap.dmp",
            "p/orders/1-ab/.json",
            "p/orders//instance.json.zst",
            "p/or ders/1-ab/instance.json.zst",
            "p/orders/1-ab/x/instance.json.zst",
            "p/instance.json.zst",
            "p/",
            "p",
            "other/orders/1-ab/instance.json.zst",
            string.Empty,
            "p/\u00e9/1/instance.json.zst",
            "p/a/b/" + new string('x', 5000),
        ];

        var (records, dumps, ignored) = FleetKeys.Sort("p/", keys);

        Assert.Equal(["p/orders/1-ab/instance.json.zst"], records.Keys);
        Assert.Equal(("orders", "1-ab"), records["p/orders/1-ab/instance.json.zst"]);
        Assert.Equal("20261124T011500123Z-2477-manual-0-heap", Assert.Single(dumps).Id.ToString());
        Assert.Equal(keys.Length - 4, ignored);
    }
}
