using HeapDiag.Analysis.Internal;
using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Tests;

/// <summary>The mark pass's stack: last in, first out across its scratch file, with a bounded part in memory.</summary>
public sealed class MarkStackTests
{
    [Fact]
    public void Pops_in_reverse_push_order_across_spills_and_reloads()
    {
        using var scratch = ScratchSpace.Create(null);
        using var stack = new MarkStack<(long, int)>(() => scratch, windowEntries: 8);
        var expected = new Stack<(long, int)>();
        var random = new Random(24);
        for (var step = 0; step < 20_000; step++)
        {
            // Mostly pushes early, mostly pops late: the stack grows past many windows, then drains through them.
            if (random.Next(100) < (step < 10_000 ? 70 : 30))
            {
                var item = ((long)step << 32, step);
                stack.Push(item);
                expected.Push(item);
            }
            else
            {
                Assert.Equal(expected.TryPop(out var want), stack.TryPop(out var got));
                Assert.Equal(want, got);
            }

            Assert.Equal(expected.Count, stack.Count);
        }

        while (expected.TryPop(out var want))
        {
            Assert.True(stack.TryPop(out var got));
            Assert.Equal(want, got);
        }

        Assert.False(stack.TryPop(out _));
    }

    [Fact]
    public void Within_its_window_it_asks_for_no_scratch_space()
    {
        using var stack = new MarkStack<long>(() => throw new InvalidOperationException("no scratch space expected"), windowEntries: 1024);
        for (var i = 0L; i < 1024; i++)
        {
            stack.Push(i);
        }

        while (stack.TryPop(out _))
        {
        }

        Assert.Equal(0, stack.Count);
    }

    [Fact]
    public void Past_its_window_the_older_entries_are_in_the_scratch_file()
    {
        using var scratch = ScratchSpace.Create(null);
        var file = scratch.PathOf(MarkStack<long>.FileName);
        using (var stack = new MarkStack<long>(() => scratch, windowEntries: 1024))
        {
            for (var i = 0L; i < 1024; i++)
            {
                stack.Push(i);
            }

            Assert.False(File.Exists(file));
            for (var i = 1024L; i < 10_000; i++)
            {
                stack.Push(i);
            }

            // Each spill writes the older half of the window: 512 entries of 8 bytes.
            Assert.Equal(10_000, stack.Count);
            Assert.Equal((10_000 - 512) / 512 * 512 * 8, new FileInfo(file).Length);
            for (var i = 9_999L; i >= 0; i--)
            {
                Assert.True(stack.TryPop(out var got));
                Assert.Equal(i, got);
            }
        }

        scratch.Dispose();
        Assert.False(Directory.Exists(scratch.DirectoryPath));
    }
}
