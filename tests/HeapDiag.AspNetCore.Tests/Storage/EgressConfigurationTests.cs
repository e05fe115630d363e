using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>The default provider and start-up validation; no S3 server and no real dump needed.</summary>
public sealed class EgressConfigurationTests
{
    [Fact]
    public async Task By_default_dumps_stay_local_and_every_answer_says_so()
    {
        await using var host = await TestHost.StartAsync(services: TestWriters.Use<FakeHeapDumpWriter>);
        var client = host.Client;

        using var created = await client.PostAsync("/debug/heapdump?type=mini", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var result = await created.Content.ReadFromJsonAsync<JsonElement>();
        var egress = result.GetProperty("egress");
        Assert.Equal("FileSystem", egress.GetProperty("provider").GetString());
        Assert.True(egress.GetProperty("success").GetBoolean());
        Assert.Equal(result.GetProperty("heapPath").GetString(), egress.GetProperty("location").GetString());
        Assert.Equal(JsonValueKind.Null, egress.GetProperty("key").ValueKind);

        var listed = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump");
        var item = Assert.Single(listed.GetProperty("dumps").EnumerateArray());
        Assert.Equal("local", item.GetProperty("location").GetString());
        Assert.Equal(JsonValueKind.Null, item.GetProperty("objectKey").ValueKind);
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("remote").ValueKind);

        var capabilities = await client.GetFromJsonAsync<JsonElement>("/debug/heapdump/capabilities");
        Assert.Equal("FileSystem", capabilities.GetProperty("egress").GetProperty("provider").GetString());
        Assert.True(capabilities.GetProperty("egress").GetProperty("ok").GetBoolean());
        var monitor = await client.GetFromJsonAsync<JsonElement>("/debug/monitor");
        Assert.Equal("FileSystem", monitor.GetProperty("egress").GetProperty("provider").GetString());
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Id is 1004 or 1005);
    }

    [Theory]
    [InlineData("HeapDiagnostics:Egress:S3:Bucket", null, "HeapDiagnostics:Egress:S3:Bucket is empty; Egress:Provider is S3")]
    [InlineData("HeapDiagnostics:Egress:S3:Bucket", "My_Dumps", "HeapDiagnostics:Egress:S3:Bucket is 'My_Dumps'; a bucket name is 3 to 63")]
    [InlineData("HeapDiagnostics:Egress:S3:ServiceUrl", "minio:9000", "HeapDiagnostics:Egress:S3:ServiceUrl is 'minio:9000'; it must be an absolute http:// or https:// URL")]
    [InlineData("HeapDiagnostics:Egress:S3:Region", "EU West", "HeapDiagnostics:Egress:S3:Region is 'EU West'")]
    [InlineData("HeapDiagnostics:Egress:S3:Prefix", "dumps/../other", "HeapDiagnostics:Egress:S3:Prefix is 'dumps/../other'")]
    public void A_bad_S3_setting_stops_startup_naming_the_key_and_the_fix(string key, string? value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Egress:Provider"] = "S3",
            ["HeapDiagnostics:Egress:S3:Bucket"] = "heapdumps",
        };
        settings[key] = value;
        using var services = BuildServices(settings);

        // What ValidateOnStart runs when the host starts; resolved here without a host so nothing can reach an endpoint.
        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<HeapDiagnosticsOptions>>().Value);

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("ContainerName", null, "HeapDiagnostics:Egress:AzureBlob:ContainerName is empty; Egress:Provider is AzureBlob")]
    [InlineData("ContainerName", "Heap_Dumps", "HeapDiagnostics:Egress:AzureBlob:ContainerName is 'Heap_Dumps'; a container name is 3 to 63")]
    [InlineData("ConnectionString", null, "set exactly one of ConnectionString")]
    [InlineData("ServiceUri", "https://myaccount.blob.core.windows.net", "set exactly one of ConnectionString (a storage account connection string, kept in a secret) and ServiceUri (for example 'https://myaccount.blob.core.windows.net', with DefaultAzureCredential); both are set")]
    [InlineData("ConnectionString", "AccountKey=c2VjcmV0LWtleQ==;NotAnAccount", "HeapDiagnostics:Egress:AzureBlob:ConnectionString is not a usable Azure Storage connection string")]
    [InlineData("Prefix", "dumps/../other", "HeapDiagnostics:Egress:AzureBlob:Prefix is 'dumps/../other'")]
    [InlineData("ConnectionString", "", "HeapDiagnostics:Egress:AzureBlob:ServiceUri is an http:// URL without a SAS", "http://127.0.0.1:10000/devstoreaccount1")]
    public void A_bad_AzureBlob_setting_stops_startup_naming_the_key_and_the_fix_and_never_the_secret(string key, string? value, string expected, string? serviceUri = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Egress:Provider"] = "AzureBlob",
            ["HeapDiagnostics:Egress:AzureBlob:ContainerName"] = "heapdumps",
            ["HeapDiagnostics:Egress:AzureBlob:ConnectionString"] = AzuriteServer.ConnectionString("http://127.0.0.1:10000/devstoreaccount1"),
        };
        settings[$"HeapDiagnostics:Egress:AzureBlob:{key}"] = value;
        if (serviceUri is not null)
        {
            settings["HeapDiagnostics:Egress:AzureBlob:ServiceUri"] = serviceUri;
        }

        using var services = BuildServices(settings);

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<HeapDiagnosticsOptions>>().Value);

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("c2VjcmV0LWtleQ==", error.Message);
        Assert.DoesNotContain(AzuriteServer.AccountKey, error.Message);
    }

    [Fact]
    public void A_ServiceUri_alone_is_enough_and_makes_no_request_until_the_app_starts()
    {
        using var services = BuildServices(new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Egress:Provider"] = "AzureBlob",
            ["HeapDiagnostics:Egress:AzureBlob:ContainerName"] = "heapdumps",
            ["HeapDiagnostics:Egress:AzureBlob:ServiceUri"] = "https://myaccount.blob.core.windows.net",
        });

        var store = services.GetRequiredService<HeapDumpStore>();

        Assert.Equal("AzureBlob", store.Provider);
        Assert.StartsWith("https://myaccount.blob.core.windows.net/heapdumps/", store.Target);
    }

    [Fact]
    public void An_unknown_provider_stops_startup_naming_the_key()
    {
        using var services = BuildServices(new Dictionary<string, string?> { ["HeapDiagnostics:Egress:Provider"] = "Azure" });

        var error = Assert.ThrowsAny<InvalidOperationException>(() => services.GetRequiredService<IOptions<HeapDiagnosticsOptions>>().Value);

        Assert.Contains("HeapDiagnostics:Egress:Provider", error.Message);
    }

    private static ServiceProvider BuildServices(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddHeapDiagnostics();
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task S3_settings_left_in_place_do_not_matter_while_the_provider_is_FileSystem()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>
        {
            ["HeapDiagnostics:Egress:Provider"] = "FileSystem",
            ["HeapDiagnostics:Egress:S3:ServiceUrl"] = "not a url",
        });
        var client = host.Client;

        using var response = await client.GetAsync("/debug/heapdump");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
