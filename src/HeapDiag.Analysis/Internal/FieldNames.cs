using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>Names the field (or array element) through which one object references another.</summary>
internal static class FieldNames
{
    public const string ArrayElement = "[]";
    public const string DependentHandle = "(dependent handle)";
    public const string LoaderAllocator = "(loader allocator)";

    /// <summary>The field of the object at <paramref name="from"/> that references <paramref name="to"/>.</summary>
    public static string NameLink(DumpSession dump, ulong from, HeapType fromType, ulong to)
    {
        // Every slot of a reference array has the same name; scanning a 24 M element array to find which one is wasted time.
        if (fromType.IsReferenceArray)
        {
            return ArrayElement;
        }

        var finder = new SlotFinder(to);
        dump.Objects.VisitReferences(from, fromType, dump.Objects.GetSize(from, fromType), ref finder);
        if (finder.Offset == HeapObjects.LoaderAllocatorOffset)
        {
            return LoaderAllocator;
        }

        if (finder.Offset == RootSet.DependentHandleOffset)
        {
            return DependentHandle;
        }

        var pointerSize = dump.PointerSize;
        var type = fromType.ClrType;
        if (fromType.IsArray)
        {
            if (type.ComponentType is not { } element || fromType.ComponentSize == 0)
            {
                return ArrayElement;
            }

            var inElement = (int)((finder.Offset - fromType.ElementsOffset) % fromType.ComponentSize);
            return NameField(element.Fields, inElement, pointerSize) is { } inner ? ArrayElement + "." + inner : ArrayElement;
        }

        // Instance field offsets in ClrMD start after the method table pointer.
        return NameField(type.Fields, finder.Offset - pointerSize, pointerSize) ?? string.Create(CultureInfo.InvariantCulture, $"+0x{finder.Offset:x}");
    }

    /// <summary>Name of the field at <paramref name="offset"/>, descending into structs as <c>outer.inner</c>.</summary>
    private static string? NameField(IEnumerable<ClrInstanceField> fields, int offset, int pointerSize)
    {
        foreach (var field in fields)
        {
            var size = field.IsObjectReference ? pointerSize : Math.Max(1, field.Size);
            if (offset < field.Offset || offset >= field.Offset + size)
            {
                continue;
            }

            if (field.IsObjectReference || field.Type is not { IsValueType: true } structType)
            {
                return field.Name;
            }

            var inner = NameField(structType.Fields, offset - field.Offset, pointerSize);
            return inner is null ? field.Name : $"{field.Name}.{inner}";
        }

        return null;
    }

    private struct SlotFinder(ulong target) : IReferenceVisitor
    {
        /// <summary>The target's slot; a target none of the object's references lead to is held through a dependent handle.</summary>
        public int Offset { get; private set; } = RootSet.DependentHandleOffset;

        public bool Visit(ulong reference, int offset)
        {
            if (reference != target)
            {
                return true;
            }

            Offset = offset;
            return false;
        }
    }
}
