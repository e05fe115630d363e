using System.ComponentModel.DataAnnotations;

namespace HeapDiag.AspNetCore;

/// <summary>
/// <see cref="RangeAttribute"/> under another name. The options validator generator replaces
/// <see cref="RangeAttribute"/> with a copy of its own that formats only its default text ("The field … must be
/// between …") and drops <c>ErrorMessage</c>; a setting's message must name its configuration key and the fix, so
/// the ranges here use this, which the generator leaves as it is.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter)]
internal sealed class SettingRangeAttribute : RangeAttribute
{
    public SettingRangeAttribute(int minimum, int maximum)
        : base(minimum, maximum)
    {
    }

    public SettingRangeAttribute(double minimum, double maximum)
        : base(minimum, maximum)
    {
    }

    public SettingRangeAttribute(Type type, string minimum, string maximum)
        : base(type, minimum, maximum)
    {
    }
}
