using HeapDiag.AspNetCore;
using HeapDiag.AspNetCore.Endpoints;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the HeapDiag endpoints into the app's own routing.</summary>
public static class HeapDiagnosticsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the HeapDiag endpoints under <see cref="HeapDiagnosticsOptions.RoutePrefix"/> here, for apps that want
    /// them inside their own route groups or after their own middleware. Optional: without this call,
    /// <c>AddHeapDiagnostics()</c> maps them itself. They can be mapped only once.
    /// </summary>
    /// <param name="endpoints">The route builder (the app, or a route group).</param>
    /// <returns>A builder for adding conventions to every HeapDiag endpoint.</returns>
    /// <exception cref="InvalidOperationException">AddHeapDiagnostics() was not called, or the endpoints are already mapped.</exception>
    public static IEndpointConventionBuilder MapHeapDiagnostics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var marker = endpoints.ServiceProvider.GetService<HeapDiagnosticsMarker>()
            ?? throw new InvalidOperationException(
                "Unable to find the required services. Add them by calling 'IServiceCollection.AddHeapDiagnostics' in the application startup code.");
        marker.MarkMapped();
        return HeapDiagnosticsEndpoints.Map(endpoints, endpoints.ServiceProvider.GetRequiredService<IOptions<HeapDiagnosticsOptions>>().Value);
    }
}
