using System.Net;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// SampleApi as its own process, configured only through the environment as in a container: the egress settings
/// from HeapDiagnostics__Egress__*, the credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY through the SDK's
/// own chain. The dump is of that process, not of this one, so no capture collection is needed.
/// </summary>
public sealed class S3EgressProcessTests
{
    /// <summary>s3rver does not verify signatures, so any secret passes; this one is only there to be looked for.</summary>
    private const string Secret = "heapdiag-secret-never-shown-7f3a9c21d84e";

    [RequiresS3rverFact]
    public async Task Credentials_from_the_environment_upload_the_dump_and_never_appear_in_answers_logs_or_files()
    {
        await using var s3 = await S3rverServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["HeapDiagnostics__Egress__Provider"] = "S3",
            ["HeapDiagnostics__Egress__S3__ServiceUrl"] = s3.ServiceUrl,
            ["HeapDiagnostics__Egress__S3__Bucket"] = s3.Bucket,
            ["HeapDiagnostics__Egress__S3__Prefix"] = "prod",
            ["HeapDiagnostics__Egress__S3__ForcePathStyle"] = "true",
            ["AWS_ACCESS_KEY_ID"] = S3rverServer.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = Secret,

            // Belt and braces: the SDK must find the keys above and never ask an instance metadata service.
            ["AWS_EC2_METADATA_DISABLED"] = "true",
        };
        var dumps = Directory.CreateTempSubdirectory("heapdiag-s3proc-").FullName;
        try
        {
            await using var app = await SampleApiProcess.StartAsync(environment, dumps);
            await CaptureAndCheckAsync(app, s3);
        }
        finally
        {
            Directory.Delete(dumps, recursive: true);
        }
    }

    private static async Task CaptureAndCheckAsync(SampleApiProcess app, S3rverServer s3)
    {
        using var client = app.CreateAuthorizedClient();

        using var created = await client.PostAsync("/debug/heapdump?type=triage", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var resultText = await created.Content.ReadAsStringAsync();
        var egress = JsonDocument.Parse(resultText).RootElement.GetProperty("egress");
        Assert.True(egress.GetProperty("success").GetBoolean(), egress.GetProperty("error").GetString());
        var key = egress.GetProperty("key").GetString()!;
        Assert.StartsWith("prod/SampleApi/", key);
        Assert.Contains(key, (await s3.ListAsync()).Select(o => o.Key));

        var answers = new List<string> { resultText };
        foreach (var path in new[] { "/debug/heapdump", "/debug/monitor", "/debug/heapdump/capabilities", "/debug/memory" })
        {
            answers.Add(await client.GetStringAsync(path));
        }

        var capabilities = JsonDocument.Parse(answers[3]).RootElement;
        Assert.True(capabilities.GetProperty("egress").GetProperty("ok").GetBoolean(), answers[3]);
        Assert.All(answers, answer => Assert.DoesNotContain(Secret, answer));
        Assert.DoesNotContain(Secret, app.Output);
        Assert.Contains("dumps will be shipped to s3://heapdumps/prod/SampleApi/", app.Output);
        foreach (var file in Directory.GetFiles(app.DumpDirectory, "*.json"))
        {
            Assert.DoesNotContain(Secret, await File.ReadAllTextAsync(file));
        }
    }
}
