using System.Diagnostics.CodeAnalysis;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Http;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// A dump id as a client sent it in the route or the query. It binds whatever was sent, so that a malformed id reaches
/// <see cref="Filter"/>, which answers it once for every route with ProblemDetails saying what ids look like. Binding
/// <see cref="HeapDumpId"/> itself would answer a malformed id with an empty 400, or, in Development (where
/// <c>RouteHandlerOptions.ThrowOnBadRequest</c> is on), with an exception page.
/// </summary>
internal readonly record struct RequestedDumpId(HeapDumpId? Parsed, string Text) : IParsable<RequestedDumpId>
{
    /// <summary>The id; only handlers behind <see cref="Filter"/> read it, so it is always there.</summary>
    public HeapDumpId Value => Parsed ?? throw new InvalidOperationException($"'{Text}' is not a heap dump id; the dump id filter answers it before any handler runs.");

    public static RequestedDumpId Parse(string s, IFormatProvider? provider) => new(HeapDumpId.TryParse(s, provider, out var id) ? id : null, s);

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out RequestedDumpId result)
    {
        result = Parse(s ?? string.Empty, provider);
        return s is not null;
    }

    /// <summary>Answers the first malformed dump id among a route's arguments with 400 and what ids look like.</summary>
    public static ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        foreach (var argument in context.Arguments)
        {
            if (argument is RequestedDumpId { Parsed: null } malformed)
            {
                return ValueTask.FromResult<object?>(TypedResults.Problem(Problems.InvalidId(malformed.Text)));
            }
        }

        return next(context);
    }
}
