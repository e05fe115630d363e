using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using ServiceHeap;

// A process whose heap is shaped like a real service rather than a star: `ServiceHeap LIVE_OBJECTS` builds about
// that many live objects (customers whose orders share products, parent↔child cycles, a long linked chain, an event
// with many subscribers, sessions in a ConcurrentDictionary, weak references, a ConditionalWeakTable, finalizable
// objects, and one leaking List<T> holding over half the bytes), all reachable from one static holder; then it prints
// one line of JSON and waits to be dumped and killed.
var target = args.Length == 1 && long.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
    ? n
    : 1_000_000;
var stopwatch = Stopwatch.StartNew();
Registry.Service = Service.Build(target);
GC.Collect();
GC.WaitForPendingFinalizers();
GC.Collect();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"pid\": {Environment.ProcessId}, \"requestedObjects\": {target}, \"heapBytes\": {GC.GetGCMemoryInfo().HeapSizeBytes}, \"buildSeconds\": {stopwatch.Elapsed.TotalSeconds:0.0}}}"));
Thread.Sleep(Timeout.Infinite);
return 0;

namespace ServiceHeap
{
    /// <summary>The one static holder that reaches everything.</summary>
    internal static class Registry
    {
        public static Service? Service { get; set; }
    }

    /// <summary>The service's state. Fractions are of the requested live objects.</summary>
    internal sealed class Service
    {
        public Dictionary<int, Customer> Customers { get; } = [];

        public Product[] Products { get; private set; } = [];

        public ChainNode? Chain { get; private set; }

        public Folder? Folders { get; private set; }

        public Publisher Prices { get; } = new();

        public ConcurrentDictionary<Guid, Session> Sessions { get; } = new();

        public List<WeakReference<Customer>> Recent { get; } = [];

        public ConditionalWeakTable<Order, OrderNote> Notes { get; } = [];

        public List<Resource> Resources { get; } = [];

        /// <summary>The leak: entries added on every request and never removed (over half the heap's bytes).</summary>
        public List<CacheEntry> ResponseCache { get; } = [];

        public static Service Build(long objects)
        {
            var service = new Service();
            service.Products = [.. Enumerable.Range(0, 10_000).Select(i => new Product($"product-{i}", i))];
            service.AddCustomers((int)(objects * 0.05));
            service.AddChain((int)(objects / 15));
            service.AddFolders((int)(objects * 0.02));
            service.AddSubscribers((int)(objects / 150));
            service.AddSessions((int)(objects / 75));
            service.AddWeakAndNotes((int)(objects / 100));
            service.AddResources((int)(objects / 1000));
            service.AddLeak((int)(objects * 0.13));
            return service;
        }

        /// <summary>7 objects per customer: the customer, its order list and array, 4 orders that share products and point back.</summary>
        private void AddCustomers(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var customer = new Customer(i);
                for (var o = 0; o < 4; o++)
                {
                    customer.Orders.Add(new Order(customer, Products[((i * 7) + o) % Products.Length], o + 1));
                }

                Customers[i] = customer;
            }
        }

        /// <summary>A singly linked chain: 1 object per node.</summary>
        private void AddChain(int count)
        {
            ChainNode? head = null;
            for (var i = 0; i < count; i++)
            {
                head = new ChainNode(i, head);
            }

            Chain = head;
        }

        /// <summary>A tree whose children point back to their parent: 4-way fan-out, plus one deep branch of a quarter of the folders.</summary>
        private void AddFolders(int count)
        {
            var root = new Folder(null);
            var queue = new Queue<Folder>([root]);
            var made = 1;
            var deep = root;
            for (var i = 0; i < count / 4 && made < count; i++, made++)
            {
                deep = deep.Add(new Folder(deep));
            }

            while (made < count && queue.TryDequeue(out var parent))
            {
                for (var c = 0; c < 4 && made < count; c++, made++)
                {
                    queue.Enqueue(parent.Add(new Folder(parent)));
                }
            }

            Folders = root;
        }

        /// <summary>2 objects per subscriber (it and its delegate), combined once into one invocation list.</summary>
        private void AddSubscribers(int count)
        {
            var handlers = new EventHandler[count];
            for (var i = 0; i < count; i++)
            {
                handlers[i] = new Subscriber(i).OnPriceChanged;
            }

            Prices.Subscribe((EventHandler)Delegate.Combine(handlers)!);
        }

        /// <summary>3 objects per session: the session, its state and the dictionary's node; each session refers to a customer.</summary>
        private void AddSessions(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Customers.TryGetValue(i % Math.Max(1, Customers.Count), out var customer);
                Sessions[Guid.NewGuid()] = new Session(customer, new byte[48]);
            }
        }

        /// <summary>Weak references to customers, and notes attached to orders through a ConditionalWeakTable.</summary>
        private void AddWeakAndNotes(int count)
        {
            for (var i = 0; i < count && Customers.Count > 0; i++)
            {
                var customer = Customers[i % Customers.Count];
                Recent.Add(new WeakReference<Customer>(customer));
                if (i % 2 == 0)
                {
                    Notes.Add(customer.Orders[0], new OrderNote($"note {i}"));
                }
            }
        }

        /// <summary>Finalizable objects, most of them kept and a few left for the finalizer.</summary>
        private void AddResources(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var resource = new Resource(i);
                if (i % 10 != 0)
                {
                    Resources.Add(resource);
                }
            }
        }

        /// <summary>3 objects per entry: the entry, its key and its payload; one entry also holds the <see cref="LeakProbe"/>.</summary>
        private void AddLeak(int count)
        {
            ResponseCache.Capacity = count;
            for (var i = 0; i < count; i++)
            {
                ResponseCache.Add(new CacheEntry(string.Create(CultureInfo.InvariantCulture, $"GET /orders/{i}"), new byte[160], i == count / 2 ? new LeakProbe() : null));
            }
        }
    }

    internal sealed record Product(string Name, decimal Price);

    internal sealed class Customer(int id)
    {
        public int Id { get; } = id;

        public List<Order> Orders { get; } = new(4);
    }

    internal sealed class Order(Customer customer, Product product, int quantity)
    {
        public Customer Customer { get; } = customer;

        public Product Product { get; } = product;

        public int Quantity { get; } = quantity;
    }

    internal sealed record OrderNote(string Text);

    internal sealed class ChainNode(long value, ChainNode? next)
    {
        public long Value { get; } = value;

        public ChainNode? Next { get; } = next;
    }

    internal sealed class Folder(Folder? parent)
    {
        private Folder[] _children = [];

        public Folder? Parent { get; } = parent;

        public IReadOnlyList<Folder> Children => _children;

        public Folder Add(Folder child)
        {
            _children = [.. _children, child];
            return child;
        }
    }

    internal sealed class Publisher
    {
        public event EventHandler? PriceChanged;

        public void Subscribe(EventHandler handler) => PriceChanged += handler;

        public void Raise() => PriceChanged?.Invoke(this, EventArgs.Empty);
    }

    internal sealed class Subscriber(int id)
    {
        public int Calls { get; private set; }

        public int Id { get; } = id;

        public void OnPriceChanged(object? sender, EventArgs e) => Calls++;
    }

    internal sealed class Session(Customer? customer, byte[] state)
    {
        public Customer? Customer { get; } = customer;

        public byte[] State { get; } = state;
    }

    internal sealed class Resource(int id)
    {
        public int Id { get; } = id;

        ~Resource() => GC.KeepAlive(this);
    }

    /// <summary>One instance, inside one leaked entry: the object the bench asks <c>gcroot</c> and <c>heapdiag retainers</c> about.</summary>
    internal sealed class LeakProbe;

    internal sealed class CacheEntry(string key, byte[] payload, LeakProbe? probe)
    {
        public string Key { get; } = key;

        public byte[] Payload { get; } = payload;

        public LeakProbe? Probe { get; } = probe;
    }
}
