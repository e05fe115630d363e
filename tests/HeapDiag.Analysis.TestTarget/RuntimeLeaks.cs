using System.Globalization;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.Analysis.TestTarget;

/// <summary>
/// Leaks held by the runtime's own structures, or of known framework types, that issue #25's first fixtures left
/// out, each grown by <see cref="TryGrow"/> with items of about <see cref="Leaks.ItemBytes"/> bytes:
/// <list type="bullet">
/// <item><c>httpclients</c>: a new <c>HttpClient</c> per request, kept in a static list (<see cref="PartnerGateway"/>).</item>
/// <item><c>periodictimers</c>: workers looping on an undisposed <c>PeriodicTimer</c> that nobody stops (<see cref="PollingWorker"/>).</item>
/// <item><c>boundedcache</c>: an <c>IMemoryCache</c> with a <c>SizeLimit</c> whose entries have a size and an expiration: large, but bounded.</item>
/// <item><c>finalizer</c>: objects with a finalizer dropped while the finalizer thread is blocked (<see cref="ReportFile"/>): the finalizer queue keeps them.</item>
/// <item><c>threadstatics</c>: <see cref="RequestScratch.Threads"/> long-lived threads, each filling its own <c>[ThreadStatic]</c> list (<see cref="RequestScratch"/>), each list far below a suspect's share.</item>
/// <item><c>workitems</c>: every thread-pool thread blocked, then work items queued that never run (<see cref="ReportJob"/>). Last in a process: the pool stays blocked.</item>
/// </list>
/// </summary>
internal static class RuntimeLeaks
{
    /// <summary>A cache of its own, with a limit: the size of an entry is 1, the limit far above what is added.</summary>
    internal static readonly ServiceProvider Services = new ServiceCollection()
        .AddMemoryCache(options => options.SizeLimit = 10_000_000)
        .BuildServiceProvider();

    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);

    public static bool TryGrow(string pattern, int count)
    {
        switch (pattern)
        {
            case "httpclients":
                PartnerGateway.Call(count);
                return true;
            case "periodictimers":
                PollingWorker.Start(count);
                return true;
            case "boundedcache":
                var cache = Services.GetRequiredService<IMemoryCache>();
                var options = new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1) };
                for (var i = 0; i < count; i++)
                {
                    cache.Set(string.Create(CultureInfo.InvariantCulture, $"page-{i}"), new CachedPage(new byte[Leaks.ItemBytes]), options);
                }

                return true;
            case "finalizer":
                ReportFile.LeaveForBlockedFinalizer(count, Wait);
                return true;
            case "threadstatics":
                RequestScratch.FillOnThreads(count, Wait);
                return true;
            case "workitems":
                ReportJob.QueueBehindBlockedPool(count, Wait);
                return true;
            default:
                return false;
        }
    }
}

/// <summary>Calls a partner with a new HttpClient per request and keeps each client (the handler and its pool with it).</summary>
internal static class PartnerGateway
{
    private static readonly List<HttpClient> Clients = [];

    public static void Call(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri("http://127.0.0.1:9/") };
            client.DefaultRequestHeaders.Add("X-Request-Id", string.Create(CultureInfo.InvariantCulture, $"request-{Clients.Count}"));
            Clients.Add(client);
        }
    }
}

/// <summary>A background loop on a PeriodicTimer that nobody disposes or stops: the timer queue keeps the loop and its worker.</summary>
internal sealed class PollingWorker
{
    private readonly byte[] _state = new byte[Leaks.ItemBytes];

    public static void Start(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _ = new PollingWorker().RunAsync();
        }
    }

    private async Task RunAsync()
    {
        var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        while (await timer.WaitForNextTickAsync())
        {
            GC.KeepAlive(_state);
        }
    }
}

internal sealed class CachedPage(byte[] content)
{
    public byte[] Content { get; } = content;
}

/// <summary>A file-backed report that relies on its finalizer; left for a finalizer thread that another finalizer blocks.</summary>
internal sealed class ReportFile
{
    private readonly byte[] _buffer = new byte[Leaks.ItemBytes];

    ~ReportFile() => GC.KeepAlive(_buffer);

    public static void LeaveForBlockedFinalizer(int count, TimeSpan wait)
    {
        BlockingFinalizer.BlockFinalizerThread(wait);
        Drop(count);

        // Unreferenced now: a collection moves them to the finalizer queue, where they wait for the blocked thread.
        GC.Collect();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Drop(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _ = new ReportFile();
        }
    }
}

/// <summary>A finalizer that waits forever (as one waiting on a lock or a remote call does), blocking the finalizer thread.</summary>
internal sealed class BlockingFinalizer
{
    private static readonly ManualResetEventSlim Running = new();
    private static readonly ManualResetEventSlim Never = new();

    ~BlockingFinalizer()
    {
        Running.Set();
        Never.Wait();
    }

    public static void BlockFinalizerThread(TimeSpan wait)
    {
        if (Running.IsSet)
        {
            return;
        }

        Drop();
        GC.Collect();
        if (!Running.Wait(wait))
        {
            throw new InvalidOperationException("the finalizer thread did not run the blocking finalizer");
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Drop() => _ = new BlockingFinalizer();
}

/// <summary>A report job queued to the thread pool; every pool thread is blocked, so none ever runs.</summary>
internal sealed class ReportJob
{
    private static readonly ManualResetEventSlim Never = new();

    private readonly byte[] _input = new byte[Leaks.ItemBytes];

    public static void QueueBehindBlockedPool(int count, TimeSpan wait)
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (!ThreadPool.SetMaxThreads(workers, io))
        {
            throw new InvalidOperationException("the thread pool's maximum could not be lowered");
        }

        using var blocked = new CountdownEvent(workers);
        for (var i = 0; i < workers; i++)
        {
            ThreadPool.QueueUserWorkItem(_ =>
            {
                blocked.Signal();
                Never.Wait();
            });
        }

        if (!blocked.Wait(wait))
        {
            throw new InvalidOperationException("the thread pool did not start a thread per blocking item");
        }

        for (var i = 0; i < count; i++)
        {
            ThreadPool.QueueUserWorkItem(new ReportJob().Run);
        }
    }

    private void Run(object? state) => GC.KeepAlive(_input);
}

/// <summary>Per-thread scratch buffers that are added to and never cleared, on threads that live as long as the process.</summary>
internal static class RequestScratch
{
    public const int Threads = 16;

    private static readonly ManualResetEventSlim Never = new();

    [ThreadStatic]
    private static List<ScratchBuffer>? _buffers;

    public static void FillOnThreads(int count, TimeSpan wait)
    {
        using var filled = new CountdownEvent(Threads);
        for (var t = 0; t < Threads; t++)
        {
            new Thread(() =>
            {
                _buffers ??= [];
                for (var i = 0; i < count / Threads; i++)
                {
                    _buffers.Add(new ScratchBuffer(new byte[Leaks.ItemBytes]));
                }

                filled.Signal();
                Never.Wait();
            })
            { IsBackground = true }.Start();
        }

        if (!filled.Wait(wait))
        {
            throw new InvalidOperationException("the scratch threads did not fill their buffers");
        }
    }
}

internal sealed class ScratchBuffer(byte[] bytes)
{
    public byte[] Bytes { get; } = bytes;
}
