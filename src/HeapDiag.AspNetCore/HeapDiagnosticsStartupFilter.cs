using HeapDiag.AspNetCore.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Makes AddHeapDiagnostics() alone enough: when the app has not mapped the endpoints itself, they are served
/// from a branch placed first in the pipeline that only sees requests under the route prefix, with its own
/// routing and authorization so it does not depend on how the app orders its middleware.
/// </summary>
internal sealed class HeapDiagnosticsStartupFilter(HeapDiagnosticsMarker marker, IOptions<HeapDiagnosticsOptions> options) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        // The app's own MapHeapDiagnostics() runs before the pipeline is built, so by now we know.
        if (!marker.IsMapped)
        {
            var prefix = new PathString(options.Value.RoutePrefix.TrimEnd('/'));
            app.UseWhen(context => context.Request.Path.StartsWithSegments(prefix), branch =>
            {
                branch.UseRouting();
                branch.UseAuthorization();
                branch.UseEndpoints(endpoints =>
                {
                    marker.MarkMapped();
                    HeapDiagnosticsEndpoints.Map(endpoints, options.Value);
                });
            });
        }

        next(app);
    };
}
