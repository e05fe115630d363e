using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Amazon.Runtime;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// How the bucket tier turns what the AWS SDK throws into a problem and a fix, and which failures are transient (the
/// SDK's standard retry mode tries them again, up to the attempts HeapDiag allows) and which are tried once. Seen through
/// <c>GET /heapdump/capabilities</c>, which checks the bucket live, against an endpoint that answers every request the way
/// S3 answers that failure and counts the SDK's attempts at each call.
/// </summary>
public sealed partial class S3ErrorClassificationTests
{
    private const string Bucket = "heapdumps";
    private const string Secret = "secret-never-shown-5d1f0e";

    /// <summary>
    /// Attempts allowed where a failure is transient: two, which proves the retry without spending the default four's
    /// jittered backoff (seconds) in every case.
    /// </summary>
    private const int AllowedAttempts = 2;

    private const string CredentialsFix = "Check the credentials the AWS SDK finds for this process (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the instance role)";
    private const string ReachableFix = "is right and reachable from this instance";

    [Theory]
    [InlineData(403, "InvalidAccessKeyId")]
    [InlineData(403, "SignatureDoesNotMatch")]
    [InlineData(403, "AccessDenied")]
    [InlineData(400, "ExpiredToken")]
    public async Task Refused_credentials_are_not_retried_and_the_fix_says_where_the_SDK_finds_them(int status, string code)
    {
        await using var s3 = await ScriptedS3.StartAsync(ScriptedS3.Error(status, code));

        var egress = await CheckAsync(s3);

        await AssertEachCallTriedAsync(s3, 1);
        AssertProblem(egress, s3.ServiceUrl, $"{code} (HTTP {status})", CredentialsFix);
        Assert.Contains($"on bucket '{Bucket}'", egress.GetProperty("fix").GetString());
    }

    [Fact]
    public async Task A_missing_bucket_is_not_retried_and_the_fix_says_to_create_it()
    {
        await using var s3 = await ScriptedS3.StartAsync(ScriptedS3.Error(404, "NoSuchBucket"));

        var egress = await CheckAsync(s3);

        await AssertEachCallTriedAsync(s3, 1);
        AssertProblem(egress, s3.ServiceUrl, "NoSuchBucket (HTTP 404)", $"Create the bucket '{Bucket}' (HeapDiag never creates it) or correct HeapDiagnostics:Egress:S3:Bucket.");
    }

    [Theory]
    [InlineData(400, "AuthorizationHeaderMalformed")]
    [InlineData(400, "InvalidBucketName")]
    [InlineData(301, "PermanentRedirect")]
    public async Task Other_refusals_are_not_retried_and_the_fix_points_at_the_settings(int status, string code)
    {
        await using var s3 = await ScriptedS3.StartAsync(ScriptedS3.Error(status, code));

        var egress = await CheckAsync(s3);

        await AssertEachCallTriedAsync(s3, 1);
        AssertProblem(egress, s3.ServiceUrl, $"{code} (HTTP {status})", "Check the HeapDiagnostics:Egress:S3 settings (ServiceUrl, Region, Bucket, ForcePathStyle).");
    }

    [Theory]
    [InlineData(503, "SlowDown")]
    [InlineData(500, "InternalError")]
    [InlineData(503, "ServiceUnavailable")]
    public async Task Throttling_and_server_errors_are_transient_tried_every_allowed_attempt_then_reported(int status, string code)
    {
        await using var s3 = await ScriptedS3.StartAsync(ScriptedS3.Error(status, code));

        var egress = await CheckAsync(s3, Allow(AllowedAttempts));

        await AssertEachCallTriedAsync(s3, AllowedAttempts);
        AssertProblem(egress, s3.ServiceUrl, $"{code} (HTTP {status})", ReachableFix);
    }

    [Fact]
    public async Task A_connection_dropped_mid_request_is_transient()
    {
        await using var s3 = await ScriptedS3.StartAsync(http =>
        {
            http.Abort();
            return Task.CompletedTask;
        });

        var egress = await CheckAsync(s3, Allow(AllowedAttempts));

        await AssertEachCallTriedAsync(s3, AllowedAttempts);
        AssertProblem(egress, s3.ServiceUrl, "Connection reset by peer", ReachableFix);
    }

    [Fact]
    public async Task A_server_that_stops_answering_times_out_each_attempt_instead_of_hanging()
    {
        await using var s3 = await ScriptedS3.StartAsync(http => Task.Delay(Timeout.Infinite, http.RequestAborted));

        var egress = await CheckAsync(s3, Allow(AllowedAttempts, requestTimeout: TimeSpan.FromMilliseconds(500)));

        await AssertEachCallTriedAsync(s3, AllowedAttempts);
        AssertProblem(egress, s3.ServiceUrl, "no answer within the request timeout of 00:00:00.5000000 (2 attempts)", ReachableFix);
    }

    [Fact]
    public async Task An_endpoint_nothing_listens_on_is_reported_with_the_url_to_check()
    {
        var closed = ClosedPortUrl();

        var egress = await CheckAsync(null, Allow(AllowedAttempts), serviceUrl: closed);

        AssertProblem(egress, closed, "Connection refused", $"Check that HeapDiagnostics:Egress:S3:ServiceUrl ('{closed}') {ReachableFix}");
    }

    [Fact]
    public async Task Credentials_the_SDK_cannot_find_are_reported_before_any_request_with_where_to_put_them()
    {
        await using var s3 = await ScriptedS3.StartAsync(ScriptedS3.Error(200, "unused"));

        var egress = await CheckAsync(s3, credentials: new UnresolvableCredentials());

        Assert.Empty(s3.AttemptsPerCall);
        AssertProblem(egress, s3.ServiceUrl, "Failed to resolve AWS credentials", "Give the AWS SDK credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance/pod role.");
    }

    /// <summary>The SDK's attempts per request (and the time each may take): tuning outside the configuration contract.</summary>
    private static Action<IServiceCollection> Allow(int attempts, TimeSpan? requestTimeout = null) =>
        services => services.PostConfigure<HeapDiagnosticsOptions>(options =>
        {
            options.Egress.S3.MaxAttempts = attempts;
            options.Egress.S3.RequestTimeout = requestTimeout ?? options.Egress.S3.RequestTimeout;
        });

    /// <summary>A test host pointed at the endpoint (its start-up checks the bucket once); the egress part of its capabilities.</summary>
    private static async Task<JsonElement> CheckAsync(
        ScriptedS3? s3, Action<IServiceCollection>? services = null, AWSCredentials? credentials = null, string? serviceUrl = null)
    {
        await using var host = await TestHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["HeapDiagnostics:Egress:Provider"] = "S3",
                ["HeapDiagnostics:Egress:S3:ServiceUrl"] = serviceUrl ?? s3!.ServiceUrl,
                ["HeapDiagnostics:Egress:S3:Bucket"] = Bucket,
                ["HeapDiagnostics:Egress:S3:ForcePathStyle"] = "true",
            },
            services: all =>
            {
                all.AddSingleton(credentials ?? new BasicAWSCredentials("AKIAHEAPDIAGTEST", Secret));
                services?.Invoke(all);
            });

        var capabilities = await host.Client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");

        // The bucket's trouble never stops captures: dumps stay local meanwhile, and start-up said so once.
        Assert.True(capabilities.GetProperty("canCapture").GetBoolean());
        var warning = await host.Logs.SingleAsync(1004);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.DoesNotContain(Secret, warning.Message, StringComparison.Ordinal);
        return capabilities.GetProperty("egress");
    }

    /// <summary>
    /// Both checks of the bucket (at start and for the capabilities) were tried exactly <paramref name="times"/>: the
    /// SDK numbers each attempt of a call. Waited for, because the server may take a request in after the SDK gave it up.
    /// </summary>
    private static async Task AssertEachCallTriedAsync(ScriptedS3 s3, int times)
    {
        var calls = await Poll.UntilAsync(
            () => Task.FromResult(s3.AttemptsPerCall), calls => calls.Count >= 2 && calls.All(attempts => attempts >= times), $"two calls tried {times} times", TimeSpan.FromSeconds(30));
        Assert.Equal([times, times], calls);
    }

    private static void AssertProblem(JsonElement egress, string serviceUrl, string cause, string fix)
    {
        var (problem, advice) = (egress.GetProperty("problem").GetString()!, egress.GetProperty("fix").GetString()!);
        Assert.False(egress.GetProperty("ok").GetBoolean());
        Assert.StartsWith($"Access check of s3://{Bucket}/{TestHost.ApplicationName}/ at {serviceUrl} failed: ", problem, StringComparison.Ordinal);
        Assert.Contains(cause, problem, StringComparison.Ordinal);
        Assert.Contains(fix, advice, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, problem + advice, StringComparison.Ordinal);
    }

    /// <summary>An address on 127.0.0.1 where nothing listens (a port just given up by a listener).</summary>
    private static string ClosedPortUrl()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>What the SDK's credential chain throws when it finds nothing (no variables, no profile, no instance role).</summary>
    private sealed class UnresolvableCredentials : AWSCredentials
    {
        public override ImmutableCredentials GetCredentials() =>
            throw new AmazonClientException("Failed to resolve AWS credentials. The credential providers used to search for credentials returned the following errors: no environment variables, no profile, no instance role.");
    }

    /// <summary>An S3 endpoint on 127.0.0.1 that answers every request the same way, and notes the SDK's attempts at each call.</summary>
    private sealed partial class ScriptedS3 : IAsyncDisposable
    {
        private readonly WebApplication _app;

        // A call's id (amz-sdk-invocation-id) and the highest attempt number seen for it (amz-sdk-request: attempt=N; max=M).
        private readonly ConcurrentDictionary<string, (long FirstSeen, int Attempts)> _calls = new();

        private ScriptedS3(WebApplication app) => _app = app;

        public string ServiceUrl => _app.Urls.First();

        /// <summary>Attempts at each call other than a PUT, in the order the calls began (a resent request is one attempt).</summary>
        public List<int> AttemptsPerCall => [.. _calls.Values.OrderBy(call => call.FirstSeen).Select(call => call.Attempts)];

        public static async Task<ScriptedS3> StartAsync(RequestDelegate answer)
        {
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var server = new ScriptedS3(app);
            app.Run(http =>
            {
                // The bucket checks list; the instance record the fleet keeps (a PUT at start) is another caller.
                if (!HttpMethods.IsPut(http.Request.Method))
                {
                    server.Note(http.Request.Headers["amz-sdk-invocation-id"].ToString(), http.Request.Headers["amz-sdk-request"].ToString());
                }

                return answer(http);
            });
            await app.StartAsync();
            return server;
        }

        /// <summary>An S3 error response: the status and an XML body with the error's code, as S3 sends them.</summary>
        public static RequestDelegate Error(int status, string code) => http =>
        {
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/xml";
            return http.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{code} from the test endpoint</Message><RequestId>0123456789ABCDEF</RequestId></Error>");
        };

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private void Note(string call, string request)
        {
            var attempt = AttemptNumber().Match(request) is { Success: true } match ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            _calls.AddOrUpdate(call, _ => (Stopwatch.GetTimestamp(), attempt), (_, seen) => seen with { Attempts = Math.Max(seen.Attempts, attempt) });
        }

        [System.Text.RegularExpressions.GeneratedRegex(@"attempt=(\d+)")]
        private static partial System.Text.RegularExpressions.Regex AttemptNumber();
    }
}
