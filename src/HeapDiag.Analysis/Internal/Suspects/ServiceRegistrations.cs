using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>
/// The service type a DI singleton was registered as (<c>IMemoryCache</c> for a <c>MemoryCache</c>), as
/// Microsoft.Extensions.DependencyInjection 8–10 lay it out: from the call site that created it when the path passes
/// through one (the provider's service accessors), else from the call site among those accessors whose cached value it
/// is (when the path passes through the container's list of disposables instead).
/// </summary>
internal static class ServiceRegistrations
{
    private const string ScopeType = "Microsoft.Extensions.DependencyInjection.ServiceLookup.ServiceProviderEngineScope";
    private const string ProviderType = "Microsoft.Extensions.DependencyInjection.ServiceProvider";
    private const int MaxEntries = 100_000;

    /// <summary>The registered service type of the singleton at <paramref name="singleton"/> on the path; null when unreadable.</summary>
    public static string? RegisteredType(DumpSession dump, IReadOnlyList<PathLink> links, int singleton)
    {
        try
        {
            // Reached through its call site (the provider's service accessors): the call site names the service type.
            var above = links[singleton - 1];
            if (above.TypeName.EndsWith("CallSite", StringComparison.Ordinal) && dump.Heap.GetObject(above.Address) is { IsValid: true } callSite)
            {
                return TypeOf(dump, ReadObjectField(callSite, "<ServiceType>k__BackingField", "_serviceType"));
            }

            // Reached through the container's list of disposables: the provider's accessors know its call site.
            for (var i = singleton - 1; i >= 0; i--)
            {
                if (links[i].TypeName == ProviderType || links[i].TypeName == ScopeType)
                {
                    return FromAccessors(dump, links[i], links[singleton].Address);
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            // A DI version that lays its scope out differently: the singleton is named by its own type.
            return null;
        }
    }

    /// <summary>
    /// The service type of the call site whose cached value is <paramref name="singleton"/>, among the provider's
    /// service accessors (<c>ConcurrentDictionary&lt;ServiceIdentifier, ServiceAccessor&gt;</c>).
    /// </summary>
    private static string? FromAccessors(DumpSession dump, PathLink container, ulong singleton)
    {
        var provider = dump.Heap.GetObject(container.Address);
        if (container.TypeName == ScopeType)
        {
            provider = ReadObjectField(provider, "<RootProvider>k__BackingField");
        }

        var buckets = ReadObjectField(ReadObjectField(ReadObjectField(provider, "_serviceAccessors"), "_tables"), "_buckets");
        if (!buckets.IsValid || !buckets.IsArray)
        {
            return null;
        }

        var array = buckets.AsArray();
        var visited = 0;
        for (var i = 0; i < array.Length; i++)
        {
            for (var node = array.GetStructValue(i).ReadObjectField("_node"); node.IsValid && !node.IsNull && visited++ < MaxEntries; node = node.ReadObjectField("_next"))
            {
                var callSite = ReadObjectField(ReadObjectField(node, "_value"), "<CallSite>k__BackingField");
                if (callSite.IsValid && ReadObjectField(callSite, "<Value>k__BackingField").Address == singleton)
                {
                    return TypeOf(dump, ReadObjectField(callSite, "<ServiceType>k__BackingField", "_serviceType"));
                }
            }
        }

        return null;
    }

    private static ClrObject ReadObjectField(ClrObject obj, params string[] names)
    {
        foreach (var name in names)
        {
            if (obj.IsValid && !obj.IsNull && obj.Type?.GetFieldByName(name) is not null)
            {
                return obj.ReadObjectField(name);
            }
        }

        return default;
    }

    /// <summary>The type a <c>System.RuntimeType</c> object stands for, through its method table.</summary>
    private static string? TypeOf(DumpSession dump, ClrObject runtimeType)
    {
        if (!runtimeType.IsValid)
        {
            return null;
        }

        var methodTable = (ulong)runtimeType.ReadField<nint>("m_handle");
        return dump.Runtime.GetTypeByMethodTable(methodTable)?.Name;
    }
}
