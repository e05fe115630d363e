namespace HeapDiag.AspNetCore.Fleet;

/// <summary>
/// Turns a read of the bucket into the fleet view: live or gone by each record's own interval, dumps merged from the record
/// and the listing, and leaks grouped by fingerprint across instances with each one's growth between its dumps.
/// </summary>
internal static class FleetGrouping
{
    /// <summary>A record older than this many of its intervals is of an instance that is gone.</summary>
    public const int LiveIntervals = 3;

    public static FleetView Build(FleetSnapshot snapshot, DateTimeOffset now, string? app, int page, int pageSize)
    {
        var instances = snapshot.Records
            .Where(record => app is null || string.Equals(record.App, app, StringComparison.OrdinalIgnoreCase))
            .Select(record => Instance(record, snapshot, now))
            .OrderByDescending(instance => instance.Live).ThenBy(instance => instance.App, StringComparer.Ordinal).ThenBy(instance => instance.Instance, StringComparer.Ordinal)
            .ToList();
        return new FleetView(
            now,
            snapshot.Source,
            app,
            [.. snapshot.Records.Select(record => record.App).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            instances.Count,
            instances.Count(instance => instance.Live),
            page,
            pageSize,
            [.. instances.Skip((page - 1) * pageSize).Take(pageSize)],
            Leaks(instances),
            snapshot.Scan);
    }

    private static FleetInstance Instance(InstanceRecord record, FleetSnapshot snapshot, DateTimeOffset now)
    {
        var listed = snapshot.Dumps.Where(dump => dump.App == record.App && dump.Instance == record.Instance).ToList();
        var keys = listed.Select(dump => dump.Key).ToHashSet(StringComparer.Ordinal);
        var known = record.Dumps.Select(dump => dump.Id).ToHashSet(StringComparer.Ordinal);
        var dumps = record.Dumps.Select(dump => new FleetDump(dump.Id, dump.Key, dump.CreatedUtc, dump.Trigger, keys.Contains(dump.Key), dump.ReportHeadline, dump.Leaks))
            .Concat(listed.Where(dump => !known.Contains(dump.Id.ToString())).Select(dump => new FleetDump(dump.Id.ToString(), dump.Key, dump.Id.CreatedUtc, dump.Id.Trigger, true, null, null)))
            .OrderByDescending(dump => dump.CreatedUtc)
            .ToList();
        var live = now - record.RefreshedUtc < TimeSpan.FromSeconds(record.IntervalSeconds * LiveIntervals);
        return new FleetInstance(record.App, record.Instance, record.Host, record.Version, live, record.StartedUtc, record.RefreshedUtc, record.LastSample, record.Metric,
            record.ThresholdBytes, record.DumpsTaken, dumps.FirstOrDefault(dump => dump.ReportHeadline is not null)?.ReportHeadline, dumps);
    }

    private static List<FleetLeak> Leaks(List<FleetInstance> instances)
    {
        var sightings = instances
            .SelectMany(instance => instance.Dumps.SelectMany(dump => (dump.Leaks ?? []).Select(leak => (Instance: instance, Dump: dump, Leak: leak))))
            .GroupBy(sighting => sighting.Leak.Fingerprint, StringComparer.Ordinal);
        return [.. sightings
            .Select(group =>
            {
                var latest = group.MaxBy(sighting => sighting.Dump.CreatedUtc);
                var perInstance = group.GroupBy(sighting => sighting.Instance).Select(OnInstance).ToList();
                return new FleetLeak(group.Key, latest.Leak.Kind, latest.Leak.Headline, latest.Leak.Pattern, perInstance.Count, group.Min(sighting => sighting.Dump.CreatedUtc),
                    perInstance.Max(on => on.GrowthBytesPerHour), [.. perInstance.OrderByDescending(on => on.GrowthBytesPerHour ?? double.MinValue).ThenByDescending(on => on.LatestRetainedBytes)]);
            })
            .OrderByDescending(leak => leak.WorstGrowthBytesPerHour ?? double.MinValue)
            .ThenByDescending(leak => leak.Instances.Max(on => on.LatestRetainedBytes))];
    }

    /// <summary>The leak on one instance: the latest dump's retained bytes, and the growth from the first dump that shows it.</summary>
    private static FleetLeakInstance OnInstance(IGrouping<FleetInstance, (FleetInstance Instance, FleetDump Dump, InstanceLeak Leak)> sightings)
    {
        var ordered = sightings.OrderBy(sighting => sighting.Dump.CreatedUtc).ToList();
        var (first, last) = (ordered[0], ordered[^1]);
        var growth = ordered.Count > 1 ? last.Leak.RetainedBytes - first.Leak.RetainedBytes : (long?)null;
        var hours = (last.Dump.CreatedUtc - first.Dump.CreatedUtc).TotalHours;
        return new FleetLeakInstance(sightings.Key.App, sightings.Key.Instance, sightings.Key.Live, last.Leak.RetainedBytes, growth,
            growth is { } bytes && hours > 0 ? bytes / hours : null, [.. ordered.Select(sighting => sighting.Dump.Id).Distinct()]);
    }
}
