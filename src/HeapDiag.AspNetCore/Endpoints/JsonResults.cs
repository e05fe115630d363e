using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// A 200 answer of <typeparamref name="T"/> as JSON, written with HeapDiag's own serializer context (camelCase, enums
/// as strings) whatever the app configured for its own JSON; its type is its OpenAPI metadata.
/// </summary>
internal sealed class JsonOk<T>(T value) : IResult, IStatusCodeHttpResult, IValueHttpResult<T>, IEndpointMetadataProvider
{
    public int? StatusCode => StatusCodes.Status200OK;

    public T? Value => value;

    public Task ExecuteAsync(HttpContext httpContext) => JsonAnswer.WriteAsync(httpContext, StatusCodes.Status200OK, value);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => JsonAnswer.Describe<T>(builder, StatusCodes.Status200OK);
}

/// <summary>A 201 answer of <typeparamref name="T"/> as JSON, with the new resource's <c>Location</c>.</summary>
internal sealed class JsonCreated<T>(T value, string location) : IResult, IStatusCodeHttpResult, IValueHttpResult<T>, IEndpointMetadataProvider
{
    public int? StatusCode => StatusCodes.Status201Created;

    public T? Value => value;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers.Location = location;
        return JsonAnswer.WriteAsync(httpContext, StatusCodes.Status201Created, value);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => JsonAnswer.Describe<T>(builder, StatusCodes.Status201Created);
}

/// <summary>A 200 answer of a <typeparamref name="T"/> already serialized (a measurement shared by callers, a file written with a dump).</summary>
internal sealed class JsonBytes<T>(byte[] json) : IResult, IStatusCodeHttpResult, IEndpointMetadataProvider
{
    public int? StatusCode => StatusCodes.Status200OK;

    public Task ExecuteAsync(HttpContext httpContext) => TypedResults.Bytes(json, JsonAnswer.ContentType).ExecuteAsync(httpContext);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => JsonAnswer.Describe<T>(builder, StatusCodes.Status200OK);
}

internal static class JsonAnswer
{
    public const string ContentType = "application/json";

    public static Task WriteAsync<T>(HttpContext httpContext, int status, T value)
    {
        httpContext.Response.StatusCode = status;
        var typeInfo = (JsonTypeInfo<T>)HeapDiagnosticsJsonContext.Default.GetTypeInfo(typeof(T))!;
        return httpContext.Response.WriteAsJsonAsync(value, typeInfo, contentType: null, httpContext.RequestAborted);
    }

    public static void Describe<T>(EndpointBuilder builder, int status) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(T), [ContentType]));
}
