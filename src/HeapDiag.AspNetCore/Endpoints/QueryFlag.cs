namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// Boolean query values, parsed strictly: <c>true</c>, <c>false</c> (any case), <c>1</c>, <c>0</c>. Minimal API
/// binding would use bool.TryParse, which also takes " true " and answers a miss without ProblemDetails.
/// </summary>
internal static class QueryFlag
{
    public static bool TryParse(string? text, out bool value)
    {
        value = text is "1" || string.Equals(text, "true", StringComparison.OrdinalIgnoreCase);
        return text is null or "0" or "1"
            || string.Equals(text, "true", StringComparison.OrdinalIgnoreCase)
            || string.Equals(text, "false", StringComparison.OrdinalIgnoreCase);
    }
}
