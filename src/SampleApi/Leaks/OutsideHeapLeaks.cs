using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;

namespace SampleApi.Leaks;

/// <summary>
/// Leaks a heap dump does not show, or shows only in part: native memory, threads that never end, emitted
/// assemblies and pinned buffers that fragment the GC heap. Owned by <see cref="LeakStore"/>, so <c>DELETE /leak</c>
/// releases them with the rest — all but the assemblies, which a non-collectible load context never unloads.
/// </summary>
internal sealed class OutsideHeapLeaks
{
    /// <summary>Native blocks below glibc's mmap threshold (128 KiB), so they come from malloc's heap and arenas as most native leaks do.</summary>
    public const int NativeBlockBytes = 64 * 1024;

    /// <summary>How much of its stack each leaked thread uses (of the runtime's 1.5 MiB default).</summary>
    public const int ThreadStackBytes = 512 * 1024;

    /// <summary>Pinned buffers: one of every <see cref="PinnedSpacing"/> buffers allocated stays pinned, the rest become garbage around it.</summary>
    public const int PinnedBufferBytes = 8 * 1024;
    public const int PinnedSpacing = 16;

    private const int GeneratedMethods = 16;
    private const int CopiesPerMethod = 1000;

    /// <summary>The size of the struct the generated methods copy: the JIT copies it inline, 32 bytes per instruction.</summary>
    private const int BlockBytes = 256;

    private readonly Lock _gate = new();
    private readonly List<IntPtr> _nativeBlocks = [];
    private readonly List<Thread> _threads = [];
    private readonly List<Func<int, int>> _generated = [];
    private readonly List<GCHandle> _pinned = [];
    private ManualResetEventSlim _releaseThreads = new();

    public LeakReport Native(int megabytes)
    {
        var count = megabytes * (1024 * 1024 / NativeBlockBytes);
        var pattern = new byte[NativeBlockBytes];
        Array.Fill(pattern, (byte)0xA5);
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                // Written, not only allocated: untouched pages are not resident.
                var block = Marshal.AllocHGlobal(NativeBlockBytes);
                Marshal.Copy(pattern, 0, block, NativeBlockBytes);
                _nativeBlocks.Add(block);
            }

            return new LeakReport("native", count, _nativeBlocks.Count);
        }
    }

    public LeakReport Threads(int count)
    {
        lock (_gate)
        {
            using var started = new CountdownEvent(count);
            var release = _releaseThreads;
            for (var i = 0; i < count; i++)
            {
                var thread = new Thread(() => UseStackAndWait(started, release)) { IsBackground = true, Name = $"leaked {_threads.Count}" };
                thread.Start();
                _threads.Add(thread);
            }

            // Answered once every thread has used its stack, so a map read after the answer sees them.
            started.Wait();
            return new LeakReport("threads", count, _threads.Count);
        }
    }

    public LeakReport Assemblies(int count)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var compute = Emit(_generated.Count);
                compute(i);
                _generated.Add(compute);
            }

            return new LeakReport("assemblies", count, _generated.Count);
        }
    }

    public LeakReport Pinned(int megabytes)
    {
        var count = (int)(megabytes * (1024L * 1024) / PinnedBufferBytes);
        lock (_gate)
        {
            var added = AllocatePinningSome(count);

            // The rest are garbage now. The GC cannot compact the space between the pins away: a heap that stays large, mostly free.
            GC.Collect();
            return new LeakReport("pinned", added, _pinned.Count);
        }
    }

    /// <summary>Frees the native blocks, ends the threads and unpins the buffers.</summary>
    public int Release()
    {
        lock (_gate)
        {
            var released = _nativeBlocks.Count + _threads.Count + _pinned.Count;
            _nativeBlocks.ForEach(Marshal.FreeHGlobal);
            _nativeBlocks.Clear();
            _releaseThreads.Set();
            _releaseThreads = new ManualResetEventSlim();
            _threads.Clear();
            _pinned.ForEach(handle => handle.Free());
            _pinned.Clear();
            return released;
        }
    }

    /// <summary>Allocates <paramref name="count"/> buffers and pins one in <see cref="PinnedSpacing"/>; all live until gen2, then only the pinned ones.</summary>
    private int AllocatePinningSome(int count)
    {
        var buffers = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var buffer = new byte[PinnedBufferBytes];
            buffers.Add(buffer);
            if (i % PinnedSpacing == 0)
            {
                _pinned.Add(GCHandle.Alloc(buffer, GCHandleType.Pinned));
            }
        }

        GC.Collect();
        GC.Collect();
        GC.KeepAlive(buffers);
        return (count + PinnedSpacing - 1) / PinnedSpacing;
    }

    private static void UseStackAndWait(CountdownEvent started, ManualResetEventSlim release)
    {
        Span<byte> used = stackalloc byte[ThreadStackBytes];
        used.Fill(1);
        started.Signal();
        release.Wait();
        GC.KeepAlive(used[0]);
    }

    /// <summary>
    /// An assembly with a 256-byte struct and one type of <see cref="GeneratedMethods"/> methods, each compiled when
    /// first called: what XmlSerializer or a compiled expression leaves behind. Each method copies the struct back and
    /// forth, two bytes of IL for each copy that the JIT unrolls into about a hundred bytes of code, so most of what
    /// each assembly costs is code, as in a real generator's. What the runtime keeps beside the code lives elsewhere:
    /// the IL and the dynamic module's metadata in malloc'ed memory (native heap, about 100-250 KB an assembly here)
    /// and the emitter's garbage on the GC heap; with a 64-byte struct (about 20 bytes of code per IL copy) those were
    /// 30 % of the growth.
    /// </summary>
    private static Func<int, int> Emit(int number)
    {
        var assembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName($"SampleApi.Generated{number}"), AssemblyBuilderAccess.Run);
        var module = assembly.DefineDynamicModule("Generated");
        var block = module.DefineType("Generated.Block", TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.SequentialLayout, typeof(ValueType), BlockBytes).CreateType();
        var type = module.DefineType("Generated.Calculator", TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        for (var m = 0; m < GeneratedMethods; m++)
        {
            var method = type.DefineMethod($"Compute{m}", MethodAttributes.Public | MethodAttributes.Static, typeof(int), [typeof(int)]);
            var il = method.GetILGenerator();
            il.DeclareLocal(block);
            il.DeclareLocal(block);
            for (var i = 0; i < CopiesPerMethod; i++)
            {
                il.Emit(i % 2 == 0 ? OpCodes.Ldloc_0 : OpCodes.Ldloc_1);
                il.Emit(i % 2 == 0 ? OpCodes.Stloc_1 : OpCodes.Stloc_0);
            }

            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ret);
        }

        var created = type.CreateType();
        Func<int, int>? first = null;
        for (var m = 0; m < GeneratedMethods; m++)
        {
            // Called once each, so each is compiled now, as a generator's code is on first use.
            var compute = created.GetMethod($"Compute{m}")!.CreateDelegate<Func<int, int>>();
            compute(m);
            first ??= compute;
        }

        return first!;
    }
}
