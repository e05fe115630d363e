using HeapDiag.Analysis.Internal;

namespace HeapDiag.Analysis.Tests;

public sealed class ObjectBitmapTests
{
    private static ObjectBitmap TwoSegmentsAndAnEmptyOne() =>
        new([(0x2000_0000UL, 0x2000_1000UL), (0x1000_0000UL, 0x1000_0800UL), (0x3000_0000UL, 0x3000_0000UL)]);

    [Fact]
    public void Sets_each_address_once_and_ignores_addresses_outside_the_segments()
    {
        var bitmap = TwoSegmentsAndAnEmptyOne();

        Assert.Equal((true, true), TrySet(bitmap, 0x1000_0010));
        Assert.Equal((false, true), TrySet(bitmap, 0x1000_0010));
        Assert.Equal((true, true), TrySet(bitmap, 0x2000_0FF8));
        Assert.Equal((false, false), TrySet(bitmap, 0x1000_0800));
        Assert.Equal((false, false), TrySet(bitmap, 0x0FFF_FFF8));
        Assert.Equal((false, false), TrySet(bitmap, 0x3000_0000));

        Assert.Equal(2, bitmap.Count);
        Assert.Equal([0x1000_0010UL, 0x2000_0FF8UL], bitmap.EnumerateSet());
    }

    [Fact]
    public void Dense_numbers_follow_address_order_and_map_back()
    {
        var bitmap = TwoSegmentsAndAnEmptyOne();
        ulong[] addresses = [0x2000_0FF8, 0x1000_0000, 0x1000_0018, 0x1000_07F8, 0x2000_0000, 0x2000_0200, 0x2000_0208];
        foreach (var address in addresses)
        {
            bitmap.TrySet(address, out _);
        }

        bitmap.BuildIndex();

        ulong[] sorted = [.. addresses.Order()];
        Assert.Equal(sorted, bitmap.EnumerateSet());
        for (var i = 0; i < sorted.Length; i++)
        {
            Assert.Equal(i, bitmap.IndexOf(sorted[i]));
            Assert.Equal(sorted[i], bitmap.AddressAt(i));
        }

        Assert.Equal(-1, bitmap.IndexOf(0x1000_0008));
        Assert.Equal(-1, bitmap.IndexOf(0x5000_0000));
    }

    [Fact]
    public void Dense_numbers_hold_across_long_empty_stretches()
    {
        var bitmap = new ObjectBitmap([(0UL, 1UL << 24)]);
        ulong[] addresses = [8, 1UL << 20, (1UL << 24) - 8];
        foreach (var address in addresses)
        {
            bitmap.TrySet(address, out _);
        }

        bitmap.BuildIndex();

        for (var i = 0; i < addresses.Length; i++)
        {
            Assert.Equal(addresses[i], bitmap.AddressAt(i));
            Assert.Equal(i, bitmap.IndexOf(addresses[i]));
        }
    }

    [Fact]
    public void A_bitmap_large_enough_for_huge_pages_starts_clear_and_works()
    {
        // 16 MiB of words, allocated uninitialized so the kernel can be told to back it with 2 MiB pages, then cleared.
        var bitmap = new ObjectBitmap([(0UL, 1UL << 30)]);
        Assert.Empty(bitmap.EnumerateSet());
        Assert.Equal((true, true), TrySet(bitmap, (1UL << 30) - 8));
        bitmap.BuildIndex();
        Assert.Equal(0, bitmap.IndexOf((1UL << 30) - 8));
    }

    private static (bool Set, bool InRange) TrySet(ObjectBitmap bitmap, ulong address) => (bitmap.TrySet(address, out var inRange), inRange);
}
