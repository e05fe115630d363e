// Two types with the same last name in different namespaces, for an ambiguous type name.
namespace HeapDiag.AspNetCore.Tests.Endpoints.First
{
    public sealed record Twin(int Index);
}

namespace HeapDiag.AspNetCore.Tests.Endpoints.Second
{
    public sealed record Twin(int Index);
}

namespace HeapDiag.AspNetCore.Tests.Endpoints
{
    /// <summary>Keeps one of each twin alive, so both are in a dump of this process.</summary>
    public static class Twins
    {
        public static readonly object[] Held = [new First.Twin(1), new Second.Twin(2)];
    }
}
