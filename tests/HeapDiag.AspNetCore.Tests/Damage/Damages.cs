namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>
/// The ways a dump gets damaged, each a pure function of a seed so a failing variant reproduces: random bytes anywhere
/// past the ELF header (a bad block, a bad copy), random words in the GC heap, a hole of zeros (pages the writer could
/// not read, a sparse copy), a truncation (a disk that filled) and two heap pages swapped (a resumed transfer gone wrong).
/// </summary>
public sealed record Damages(string Name, int Seed, Action<FileStream, RealDump, Random> Apply)
{
    private const int PageBytes = 4096;

    public override string ToString() => $"{Name} (seed {Seed})";

    /// <summary>Every variant the fuzz suite runs: 44 of them.</summary>
    public static IReadOnlyList<Damages> All() =>
    [
        .. Seeds(8, 1).Select(seed => new Damages("2,000 random bytes past the ELF header", seed, (file, _, random) => RandomBytes(file, random, 2_000))),
        .. Seeds(10, 101).Select(seed => new Damages("200 random words in the heap", seed, (file, dump, random) => RandomWords(file, dump, random, 200))),
        .. Seeds(4, 201).Select(seed => new Damages("50,000 random words in the heap", seed, (file, dump, random) => RandomWords(file, dump, random, 50_000))),
        .. Seeds(8, 301).Select(seed => new Damages("a 4 MB hole of zeros in the heap", seed, (file, dump, random) => ZeroHole(file, dump, random, 4 << 20))),
        .. new[] { 10, 30, 50, 70, 90, 99 }.Select(percent => new Damages($"truncated to {percent} %", percent, (file, _, _) => file.SetLength(file.Length * percent / 100))),
        .. Seeds(8, 401).Select(seed => new Damages("two heap pages swapped", seed, (file, dump, random) => SwapPages(file, dump, random))),
    ];

    private static IEnumerable<int> Seeds(int count, int first) => Enumerable.Range(first, count);

    private static void RandomBytes(FileStream file, Random random, int count)
    {
        for (var i = 0; i < count; i++)
        {
            file.Position = random.NextInt64(PageBytes, file.Length);
            file.WriteByte((byte)random.Next(256));
        }
    }

    private static void RandomWords(FileStream file, RealDump dump, Random random, int count)
    {
        var word = new byte[8];
        for (var i = 0; i < count; i++)
        {
            random.NextBytes(word);
            file.Position = HeapOffset(dump, random, 8) & ~7L;
            file.Write(word);
        }
    }

    private static void ZeroHole(FileStream file, RealDump dump, Random random, int bytes)
    {
        file.Position = HeapOffset(dump, random, PageBytes) & ~(PageBytes - 1L);
        file.Write(new byte[Math.Min(bytes, file.Length - file.Position)]);
    }

    private static void SwapPages(FileStream file, RealDump dump, Random random)
    {
        var (first, second) = (HeapOffset(dump, random, PageBytes) & ~(PageBytes - 1L), HeapOffset(dump, random, PageBytes) & ~(PageBytes - 1L));
        var (a, b) = (new byte[PageBytes], new byte[PageBytes]);
        file.Position = first;
        file.ReadExactly(a);
        file.Position = second;
        file.ReadExactly(b);
        file.Position = first;
        file.Write(b);
        file.Position = second;
        file.Write(a);
    }

    /// <summary>A file offset inside the heap, chosen in proportion to each range's size, with room for <paramref name="bytes"/>.</summary>
    private static long HeapOffset(RealDump dump, Random random, int bytes)
    {
        var total = dump.HeapInFile.Sum(r => r.Length);
        var pick = random.NextInt64(total);
        foreach (var (offset, length) in dump.HeapInFile)
        {
            if (pick < length)
            {
                return offset + Math.Min(pick, length - bytes);
            }

            pick -= length;
        }

        throw new InvalidOperationException("No heap range was picked.");
    }
}
