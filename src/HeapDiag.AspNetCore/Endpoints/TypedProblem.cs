using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>The statuses a family of routes answers with ProblemDetails; a route's signature names its family.</summary>
internal interface IProblemStatuses
{
    abstract static IReadOnlyList<int> Statuses { get; }
}

/// <summary>
/// A ProblemDetails (RFC 9457) answer whose possible statuses are <typeparamref name="TStatuses"/>: they are its OpenAPI
/// metadata, and a status outside them is a bug caught when the answer is made, not a document that lies.
/// </summary>
internal sealed class Problem<TStatuses> : IResult, IStatusCodeHttpResult, IEndpointMetadataProvider
    where TStatuses : IProblemStatuses
{
    private readonly ProblemDetails _details;

    public Problem(ProblemDetails details)
    {
        if (details.Status is not { } status || !TStatuses.Statuses.Contains(status))
        {
            throw new InvalidOperationException($"Status {details.Status} is not one {typeof(TStatuses).Name} declares.");
        }

        _details = details;
    }

    public int? StatusCode => _details.Status;

    /// <summary>Seconds for <c>Retry-After</c> (a rate-limited capture).</summary>
    public double? RetryAfterSeconds { get; init; }

    public Task ExecuteAsync(HttpContext httpContext)
    {
        if (RetryAfterSeconds is { } seconds)
        {
            httpContext.Response.Headers[HeaderNames.RetryAfter] = ((long)Math.Ceiling(seconds)).ToString(CultureInfo.InvariantCulture);
        }

        return TypedResults.Problem(_details).ExecuteAsync(httpContext);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        foreach (var status in TStatuses.Statuses)
        {
            builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]));
        }
    }
}

/// <summary>A query parameter that is not what the route takes.</summary>
internal sealed class BadInput : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } = [StatusCodes.Status400BadRequest];
}

/// <summary>A dump looked up by id: bad id, no such dump, bucket unreachable.</summary>
internal sealed class DumpLookup : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } = [StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status502BadGateway];
}

/// <summary>A download: a lookup, a range outside the dump, or a local dump whose digest no longer matches.</summary>
internal sealed class DumpDownload : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } =
        [StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status416RangeNotSatisfiable, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status502BadGateway];
}

/// <summary>A capture: bad input, busy, too soon, the writer failed, the process cannot be dumped, the disk is full.</summary>
internal sealed class DumpCapture : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } =
    [
        StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status429TooManyRequests,
        StatusCodes.Status500InternalServerError, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable, StatusCodes.Status507InsufficientStorage,
    ];
}

/// <summary>An analysis: bad input, no such dump or type, unreadable file, analyzer failed, bucket down, no budget or off, too slow, no disk space.</summary>
internal sealed class DumpAnalysis : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } =
    [
        StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status500InternalServerError,
        StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable, StatusCodes.Status504GatewayTimeout, StatusCodes.Status507InsufficientStorage,
    ];
}

/// <summary>The fleet view: bad input, no bucket configured, bucket unreachable.</summary>
internal sealed class FleetRead : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } = [StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status502BadGateway];
}
