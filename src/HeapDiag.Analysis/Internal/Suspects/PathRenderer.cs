using System.Security.Cryptography;
using System.Text;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>A root path written for a person, the name of the object it ends at, and a signature to fingerprint it by.</summary>
/// <param name="Path">The steps and their text.</param>
/// <param name="HolderName">What holds the last object: <c>Orders.OrderRegistry.pending</c>, <c>static Orders.Startup.Registry</c>, <c>singleton Orders.Cache</c>.</param>
/// <param name="Signature">Root kind, root and each step's type and field: no addresses, counts or thread ids.</param>
internal sealed record RenderedPath(SuspectPath Path, string HolderName, string Signature)
{
    /// <summary>16 hex digits of the SHA-256 of the signature plus what the suspect is about.</summary>
    public string Fingerprint(string subject) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Signature}\n{subject}")))[..16];
}

/// <summary>
/// Writes the shortest path from a GC root as a person would say it: a static field by <c>Type.Field</c>, an
/// auto-property's backing field as the property, a DI singleton as <c>singleton T (service provider)</c> instead of
/// a dozen framework frames, the inside of a collection as <c>[]</c>, a delegate field as an event, a closure's
/// captured variables by name.
/// </summary>
internal static class PathRenderer
{
    private const string Arrow = " \u2192 ";
    private const string DependencyInjection = "Microsoft.Extensions.DependencyInjection.";
    /// <summary>The root kind of a path through a DI singleton.</summary>
    public const string ServiceProviderKind = "service provider";

    /// <param name="path">The path from the root.</param>
    /// <param name="dump">The dump, to read the service type a DI singleton was registered as.</param>
    public static RenderedPath Render(RootPath path, DumpSession dump)
    {
        var links = path.Links;
        var steps = new List<SuspectPathStep>();
        var next = Start(path, dump, steps, out var rootKind, out var root, out var signatureRoot, out var holder);
        var writer = new StepWriter(steps, holder);
        for (var i = next; i < links.Count; i++)
        {
            writer.Add(links[i - 1], links[i]);
        }

        // The signature is of every field, before the framework's private hops are joined for reading: fingerprints
        // stay those of earlier versions.
        var signature = Signature(rootKind, signatureRoot, steps);
        var shown = FrameworkHops.Join(steps);
        var text = string.Join(Arrow, shown.Select(s => s.Text));
        return new RenderedPath(new SuspectPath(rootKind, root, shown, text), FrameworkHops.HolderName(steps, shown, writer.Holder), signature);
    }

    /// <summary>Root kind, root, and each step's type and field, leaving out hops along a chain of one type: where in a linked list an object sits is not part of the leak.</summary>
    private static string Signature(string rootKind, string signatureRoot, List<SuspectPathStep> steps) =>
        string.Join('|', [
            rootKind,
            signatureRoot,
            .. steps.Skip(1)
                .Where((step, i) => step.TypeName != steps[i].TypeName)
                .Select(step => $"{step.TypeName}/{step.FieldName}/{step.Text.EndsWith("[]", StringComparison.Ordinal)}"),
        ]);

    /// <summary>The first step: the static field, the DI singleton, or the root object with its kind. Returns the first link still to render.</summary>
    private static int Start(
        RootPath path, DumpSession dump, List<SuspectPathStep> steps, out string rootKind, out string root, out string signatureRoot, out string holder)
    {
        var links = path.Links;
        var singleton = SingletonIndex(links);
        if (singleton >= 0)
        {
            var service = links[singleton].TypeName;
            var registered = ServiceRegistrations.RegisteredType(dump, links, singleton);
            var registeredAs = registered is null || registered == service ? string.Empty : $"{TypeNames.Short(registered)}, ";
            rootKind = ServiceProviderKind;
            root = service;
            signatureRoot = service;
            holder = $"singleton {service}";
            steps.Add(new SuspectPathStep($"singleton {service} ({registeredAs}service provider)", service, null));
            return singleton + 1;
        }

        var first = links[0].TypeName;
        rootKind = path.Root.Kind;
        if (rootKind is RootKinds.StaticField or RootKinds.ThreadStatic)
        {
            var prefix = rootKind == RootKinds.StaticField ? "static" : "thread static";
            root = TypeNames.StaticRoot(path.Root.Name);
            signatureRoot = root;
            holder = $"{prefix} {root}";
            steps.Add(new SuspectPathStep($"{prefix} {root}", first, null));
        }
        else
        {
            // Stacks and handles are named per process (thread ids): only their kind and object go into the signature.
            root = path.Root.Name;
            signatureRoot = first;
            holder = first;
            var named = root == rootKind ? rootKind : $"{rootKind}: {root}";
            steps.Add(new SuspectPathStep($"{TypeNames.Short(first)} ({named})", first, null));
        }

        return 1;
    }

    /// <summary>
    /// Where a path leaves the DI container: the object the container's own storage (its resolved-services
    /// dictionary, its list of disposables) holds after the last <c>Microsoft.Extensions.DependencyInjection</c>
    /// object — the singleton itself, whatever its type, never a framework object found below it. −1 when the path
    /// does not pass through the container, or ends inside it.
    /// </summary>
    private static int SingletonIndex(IReadOnlyList<PathLink> links)
    {
        var last = -1;
        for (var i = 0; i < links.Count; i++)
        {
            if (links[i].TypeName.StartsWith(DependencyInjection, StringComparison.Ordinal))
            {
                last = i;
            }
        }

        if (last < 0 || last == links.Count - 1)
        {
            return -1;
        }

        // Through the storage's collection and its array, to the element: the first object an array holds.
        for (var i = last + 1; i < links.Count; i++)
        {
            var storage = links[i].Type is { } type && (Containers.CollectionKind(type) is not null || Containers.IsCollectionInternal(type));
            if (!storage || links[i - 1].Type is { IsArray: true } || i == links.Count - 1)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Writes the steps after the first, one reference at a time: folds a delegate's invocation list into the event's
    /// step, the inside of an array or collection into one <c>[]</c>, and a chain of one type into one step with a count.
    /// </summary>
    private sealed class StepWriter(List<SuspectPathStep> steps, string holder)
    {
        private bool _insideCollection;
        private bool _insideInvocationList;
        private int _selfHops;

        /// <summary>What holds the last object written so far.</summary>
        public string Holder { get; private set; } = holder;

        public void Add(PathLink owner, PathLink target)
        {
            var typeName = target.TypeName;
            var field = TypeNames.Field(target.FieldName ?? "?");
            if (owner.Type is { } ownerType && Containers.IsDelegate(ownerType.ClrType))
            {
                AddDelegateTarget(typeName, field);
                return;
            }

            if (_insideInvocationList)
            {
                return;
            }

            if (_insideCollection || owner.Type is { IsArray: true })
            {
                AddInsideCollection(target);
                return;
            }

            AddField(owner, target, typeName, field);
        }

        /// <summary>A delegate's invocation list and its items fold into the event's step; its target is named.</summary>
        private void AddDelegateTarget(string typeName, string field)
        {
            _insideInvocationList = field == "_invocationList";
            if (field == "_target")
            {
                steps.Add(new SuspectPathStep(TypeNames.Short(typeName), typeName, field));
                Holder = typeName;
            }
        }

        /// <summary>The inside of an array or collection is one "[]" on the step that reached it.</summary>
        private void AddInsideCollection(PathLink target)
        {
            _insideCollection = target.Type is { } inner && Containers.IsCollectionInternal(inner);
            if (!_insideCollection)
            {
                var last = steps[^1];
                if (!last.Text.EndsWith("[]", StringComparison.Ordinal))
                {
                    steps[^1] = last with { Text = last.Text + "[]" };
                    Holder += "[]";
                }
            }
        }

        private void AddField(PathLink owner, PathLink target, string typeName, string field)
        {
            (var text, var full) = DescribeField(owner, target, field);
            if (IsSelfHop(typeName, field))
            {
                // Along a linked chain (_next of a node to the next node): one step with a count, whatever the position.
                _selfHops++;
                steps[^1] = new SuspectPathStep($"{text} \u00D7{_selfHops}", typeName, field);
                return;
            }

            _selfHops = typeName == owner.TypeName ? 1 : 0;
            steps.Add(new SuspectPathStep(text, typeName, field));
            Holder = full;
            _insideCollection = target.Type is { } reached && Containers.CollectionKind(reached) is { } kind && kind != Containers.EventKind;
        }

        /// <summary>Whether this step repeats the last one along a chain: same type, same field.</summary>
        private bool IsSelfHop(string typeName, string field) =>
            steps.Count > 1 && steps[^1].TypeName == typeName && steps[^1].FieldName == field && steps[^2].TypeName == typeName;

        private static (string Text, string Full) DescribeField(PathLink owner, PathLink target, string field)
        {
            var ownerName = owner.TypeName;
            var ownerShort = TypeNames.Short(ownerName);
            if (ownerShort.StartsWith("closure in ", StringComparison.Ordinal))
            {
                return ($"{field} (captured)", $"{field} captured by a {ownerShort}");
            }

            if (field is FieldNames.DependentHandle or FieldNames.LoaderAllocator)
            {
                return ($"{ownerShort} {field}", $"{ownerName} {field}");
            }

            var suffix = target.Type is { } type && Containers.IsDelegate(type.ClrType) && LooksLikeEvent(type.Name) ? " (event)" : string.Empty;
            return ($"{ownerShort}.{field}{suffix}", $"{ownerName}.{field}");
        }

        /// <summary>A field of a handler type: what a field-like event compiles to.</summary>
        private static bool LooksLikeEvent(string delegateType) =>
            TypeNames.Definition(delegateType) is var definition
                && (definition.EndsWith("EventHandler", StringComparison.Ordinal) || definition.EndsWith("Handler", StringComparison.Ordinal));
    }
}
