namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// Code addresses to method names, from the method events of the trace: the JIT's load events during the window and
/// the rundown the runtime sends when the session stops (every method with code at that moment, ReadyToRun ones included).
/// </summary>
internal sealed class MethodMap
{
    private readonly List<(ulong Start, uint Size, string Name)> _methods = [];
    private bool _sorted = true;

    public int Count => _methods.Count;

    public void Add(ulong start, int size, string typeName, string methodName)
    {
        if (start == 0 || size <= 0)
        {
            return;
        }

        _methods.Add((start, (uint)size, string.IsNullOrEmpty(typeName) ? methodName : $"{typeName}.{methodName}"));
        _sorted = false;
    }

    /// <summary>The method whose code holds <paramref name="address"/>, or null.</summary>
    public string? Find(ulong address)
    {
        if (!_sorted)
        {
            _methods.Sort(static (a, b) => a.Start.CompareTo(b.Start));
            _sorted = true;
        }

        // The last method starting at or before the address, if the address is inside it.
        int low = 0, high = _methods.Count - 1, found = -1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            if (_methods[middle].Start <= address)
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return found >= 0 && address - _methods[found].Start < _methods[found].Size ? _methods[found].Name : null;
    }
}
