using System.Globalization;
using HeapDiag.AspNetCore.Fleet;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary><c>GET /fleet</c>: every instance's records and dumps from the shared bucket, the leaks grouped by fingerprint.</summary>
internal static class FleetEndpoints
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 500;

    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/fleet", ReadAsync)
            .WithName("HeapDiagnostics.Fleet")
            .WithSummary("Every instance's dumps and leak reports from the bucket, leaks grouped by fingerprint")
            .WithDescription("Read from the bucket, so any instance answers for all: the instances (live while their record is fresher than three Egress:InstanceRecordInterval), each with its dumps and latest report, and the leaks by fingerprint with each instance's growth. app= filters; page= and pageSize= page the instances. Cached for 10 s; a cold read costs one list request per 1000 objects and one read per instance.");

    public static async Task<Results<JsonOk<FleetView>, Problem<FleetRead>>> ReadAsync(
        string? app, string? page, string? pageSize, HeapDumpStore store, FleetReader reader, TimeProvider time, CancellationToken cancellationToken)
    {
        if (app is not null && (app.Length is 0 or > 128 || BucketLayout.FolderName(app) != app))
        {
            return new Problem<FleetRead>(Problems.BadRequest("Invalid app", $"app='{Problems.Shorten(app, 80)}' is not an app name: use the name of an app folder in the bucket (letters, digits, '.', '-', '_'), as GET /fleet lists them in apps."));
        }

        if (!TryParse(page, 1, int.MaxValue, 1, out var pageNumber) || !TryParse(pageSize, 1, MaxPageSize, DefaultPageSize, out var size))
        {
            return new Problem<FleetRead>(Problems.BadRequest("Invalid page", $"page must be a whole number from 1 and pageSize one from 1 to {MaxPageSize} (default {DefaultPageSize}); got page='{Problems.Shorten(page ?? string.Empty, 20)}', pageSize='{Problems.Shorten(pageSize ?? string.Empty, 20)}'."));
        }

        if (store.Bucket is not { } bucket)
        {
            return new Problem<FleetRead>(Problems.NoBucket());
        }

        try
        {
            return new JsonOk<FleetView>(FleetGrouping.Build(await reader.ReadAsync(bucket, cancellationToken), time.GetUtcNow(), app, pageNumber, size));
        }
        catch (HeapDumpStoreException ex)
        {
            return new Problem<FleetRead>(Problems.Upstream(ex));
        }
    }

    private static bool TryParse(string? text, int min, int max, int fallback, out int value)
    {
        value = fallback;
        return text is null || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }
}
