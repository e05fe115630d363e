using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HeapDiag.Analysis;
using HeapDiag.AspNetCore;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Fleet;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeapDiag.Cli;

/// <summary>
/// <c>heapdiag fleet s3://bucket/prefix</c> (or <c>azblob://account/container/prefix</c>): the grouped view of <c>GET /fleet</c>
/// from the command line, read by the same <see cref="FleetReader"/> and <see cref="FleetGrouping"/> through the same bucket
/// classes the app uses, with the SDK's credential chain as <c>heapdiag suspects</c> has it.
/// </summary>
internal static class FleetCommand
{
    public static Command Create(TextWriter output, TextWriter error, Option<bool> json)
    {
        var address = new Argument<string>("bucket") { Description = "The fleet's root: s3://bucket/prefix or azblob://account/container/prefix (the Egress Prefix the instances write under)." };
        var endpoint = new Option<string?>("--endpoint") { Description = "An S3-compatible server (http://minio:9000) or Azurite's blob endpoint instead of the cloud's." };
        var app = new Option<string?>("--app") { Description = "Only the instances (and their leaks) of this app folder." };
        var command = new Command("fleet", "Every instance that writes to the bucket (live or gone) and their leaks grouped by fingerprint, with each instance's growth: what GET /fleet answers.")
        {
            address, endpoint, app, json,
        };
        command.SetAction((parse, cancellationToken) => HeapDiagCommand.Execute(error, cancellationToken, () =>
        {
            var view = Read(parse.GetRequiredValue(address), parse.GetValue(endpoint), parse.GetValue(app), cancellationToken);
            HeapDiagCommand.Write(output, parse.GetValue(json), view, IndentedJson.Default.FleetView, FleetWriter.Write);
        }));
        return command;
    }

    private static FleetView Read(string location, string? endpoint, string? app, CancellationToken cancellationToken)
    {
        var bucket = Bucket(location, endpoint);
        try
        {
            using var reader = new FleetReader(TimeProvider.System, NullLogger<FleetReader>.Instance);
            var snapshot = reader.ReadAsync(bucket, cancellationToken).GetAwaiter().GetResult();
            return FleetGrouping.Build(snapshot, TimeProvider.System.GetUtcNow(), app, 1, int.MaxValue);
        }
        catch (HeapDumpStoreException ex)
        {
            throw new HeapDumpFormatException($"{location} could not be read: {ex.Message} {ex.Fix}".TrimEnd(), ex);
        }
    }

    /// <summary>The app's own bucket class over the address; only its listing and small reads are used.</summary>
    private static IDumpBucket Bucket(string location, string? endpoint)
    {
        var separator = location.IndexOf("://", StringComparison.Ordinal);
        var (scheme, parts) = separator < 0 ? (string.Empty, []) : (location[..separator].ToLowerInvariant(), location[(separator + 3)..].Split('/', 2));
        var options = new HeapDumpEgressOptions();
        if (scheme == "s3" && parts is [{ Length: > 0 } name, ..])
        {
            (options.S3.Bucket, options.S3.Prefix, options.S3.ServiceUrl, options.S3.ForcePathStyle) = (name, parts.ElementAtOrDefault(1), endpoint, endpoint is not null);
            options.S3.Region = Environment.GetEnvironmentVariable("AWS_REGION");
            return new S3DumpBucket(S3DumpBucket.CreateClient(options.S3, credentials: null), Options.Create(options), new ProcessInstance(), TimeProvider.System);
        }

        if (scheme == "azblob" && parts is [{ Length: > 0 } account, var rest] && rest.Split('/', 2) is [{ Length: > 0 } container, ..] path)
        {
            var azure = options.AzureBlob;
            (azure.ContainerName, azure.Prefix) = (container, path.ElementAtOrDefault(1));
            azure.ConnectionString = Environment.GetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING") is { Length: > 0 } connection ? connection : null;
            azure.ServiceUri = azure.ConnectionString is null ? endpoint ?? $"https://{account}.blob.core.windows.net" : null;
            return new AzureBlobDumpBucket(AzureBlobClients.Create(azure, credential: null), Options.Create(options), new ProcessInstance(), TimeProvider.System);
        }

        throw new HeapDumpFormatException($"'{location}' is not a bucket's address: use s3://bucket/prefix or azblob://account/container/prefix");
    }

    /// <summary>The answer of <c>GET /fleet</c> as the other commands print JSON: camelCase, indented.</summary>
    private static class IndentedJson
    {
        public static readonly HeapDiagnosticsJsonContext Default = new(new JsonSerializerOptions(HeapDiagnosticsJsonContext.Default.Options) { WriteIndented = true });
    }
}

/// <summary>The text form of <see cref="FleetView"/>.</summary>
internal static class FleetWriter
{
    public static void Write(TextWriter output, FleetView view)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{view.Source}: {view.InstanceCount} instances ({view.LiveCount} live) of {view.Apps.Count} apps{(view.App is null ? string.Empty : $", app {view.App}")}"));
        output.WriteLine();
        output.WriteLine("Instances");
        var instances = new TextTable(("App", false), ("Instance", false), ("Host", false), ("State", false), ("Last written (UTC)", false), ("Dumps", true), ("Latest report", false));
        foreach (var instance in view.Instances)
        {
            instances.AddRow(instance.App, instance.Instance, instance.Host, instance.Live ? "live" : "gone", Time(instance.RefreshedUtc),
                instance.Dumps.Count.ToString(CultureInfo.InvariantCulture), instance.LatestReport ?? "-");
        }

        instances.WriteTo(output);
        output.WriteLine();
        output.WriteLine(view.Leaks.Count == 0 ? "Leaks: none in any instance's dumps" : "Leaks by fingerprint, the fastest growing first");
        foreach (var leak in view.Leaks)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {leak.Fingerprint}  {leak.Kind}  {leak.Headline}{(leak.Pattern is null ? string.Empty : $" [{leak.Pattern}]")}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    on {leak.InstanceCount} instances, first seen {Time(leak.FirstSeenUtc)}, worst growth {PerHour(leak.WorstGrowthBytesPerHour)}"));
            var table = new TextTable(("App", false), ("Instance", false), ("State", false), ("Retained", true), ("Growth", true), ("Per hour", true), ("Dumps", true));
            foreach (var on in leak.Instances)
            {
                table.AddRow(on.App, on.Instance, on.Live ? "live" : "gone", ReportWriter.Bytes(on.LatestRetainedBytes), on.GrowthBytes is { } growth ? ReportWriter.SignedBytes(growth) : "-",
                    PerHour(on.GrowthBytesPerHour), on.DumpIds.Count.ToString(CultureInfo.InvariantCulture));
            }

            table.WriteTo(output, "    ");
        }

        var scan = view.Scan;
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Read {scan.ObjectsListed} objects in {scan.Requests} requests ({scan.DurationMs:0} ms); ignored {scan.IgnoredObjects} objects that are not HeapDiag's and {scan.DamagedRecords} damaged records"));
        foreach (var problem in scan.Problems)
        {
            output.WriteLine($"  - {problem}");
        }
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string PerHour(double? bytesPerHour) => bytesPerHour is { } rate ? $"{ReportWriter.SignedBytes((long)rate)}/h" : "-";
}
