using Amazon.Runtime;
using Amazon.S3;
using Azure.Core;
using HeapDiag.AspNetCore;
using HeapDiag.AspNetCore.Allocations;
using HeapDiag.AspNetCore.Analyzer;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Fleet;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Security;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers HeapDiag: the memory and heap dump endpoints, their authorization, and the services behind them.</summary>
public static class HeapDiagnosticsServiceCollectionExtensions
{
    /// <summary>
    /// Adds HeapDiag, bound to the <c>HeapDiagnostics</c> configuration section. The endpoints are mapped under
    /// <see cref="HeapDiagnosticsOptions.RoutePrefix"/> automatically unless the app maps them itself with
    /// <c>MapHeapDiagnostics()</c>. Every endpoint requires the <see cref="HeapDiagnosticsOptions.Policy"/> policy.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddHeapDiagnostics(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddCore(services).BindConfiguration(HeapDiagnosticsOptions.SectionName);
        return services;
    }

    /// <summary>
    /// Adds HeapDiag bound to the <c>HeapDiagnostics</c> configuration section, then lets code adjust the options.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Adjusts the options after configuration is bound.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddHeapDiagnostics(this IServiceCollection services, Action<HeapDiagnosticsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(services).BindConfiguration(HeapDiagnosticsOptions.SectionName).Configure(configure);
        return services;
    }

    /// <summary>Adds HeapDiag bound to the given configuration section instead of <c>HeapDiagnostics</c>.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The section to bind, for example <c>builder.Configuration.GetSection("Ops:Heap")</c>.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddHeapDiagnostics(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        AddCore(services).Bind(configuration);
        return services;
    }

    private static OptionsBuilder<HeapDiagnosticsOptions> AddCore(IServiceCollection services)
    {
        var optionsBuilder = services.AddOptions<HeapDiagnosticsOptions>();
        if (services.Any(descriptor => descriptor.ServiceType == typeof(HeapDiagnosticsMarker)))
        {
            // A second call only adds its configuration; the services are registered once.
            return optionsBuilder;
        }

        services.AddSingleton<HeapDiagnosticsMarker>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ProcessInstance>();
        AddOptionSections(services, optionsBuilder);
        AddStore(services);
        AddCapture(services);
        AddAnalysis(services);
        AddMonitor(services);
        AddAccessControl(services);
        services.AddTransient<IStartupFilter, HeapDiagnosticsStartupFilter>();
        services.AddHostedService<HeapDiagnosticsStartupCheck>();
        return optionsBuilder;
    }

    /// <summary>
    /// The options are bound and validated as one (the sections share one configuration section, and the rules across
    /// them need all of it); each service is given only its own section.
    /// </summary>
    private static void AddOptionSections(IServiceCollection services, OptionsBuilder<HeapDiagnosticsOptions> optionsBuilder)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HeapDiagnosticsOptions>, HeapDiagnosticsOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HeapDiagnosticsOptions>, HeapDiagnosticsRulesValidator>());
        optionsBuilder.ValidateOnStart();

        // The bucket names the app's folder by HeapDiagnostics:AppName; the egress section is all the bucket is given.
        optionsBuilder.PostConfigure(options => options.Egress.AppName = options.AppName);
        AddSection(services, options => options.Storage);
        AddSection(services, options => options.Capture);
        AddSection(services, options => options.Monitor);
        AddSection(services, options => options.Egress);
        AddSection(services, options => options.Analysis);
        AddSection(services, options => options.Ui);
    }

    private static void AddSection<TSection>(IServiceCollection services, Func<HeapDiagnosticsOptions, TSection> section)
        where TSection : class =>
        services.AddSingleton<IOptions<TSection>>(provider => new OptionsWrapper<TSection>(section(provider.GetRequiredService<IOptions<HeapDiagnosticsOptions>>().Value)));

    /// <summary>
    /// The one store; with Egress:Provider=S3 or AzureBlob it has a bucket tier, whose client is made once, here. The
    /// SDKs find credentials through their own chains (AWS's; DefaultAzureCredential without a connection string); an
    /// AWSCredentials or TokenCredential service (tests) replaces the chain.
    /// </summary>
    private static void AddStore(IServiceCollection services)
    {
        services.TryAddSingleton<IAmazonS3>(provider =>
        {
            try
            {
                return S3DumpBucket.CreateClient(provider.GetRequiredService<IOptions<HeapDumpEgressOptions>>().Value.S3, provider.GetService<AWSCredentials>());
            }
            catch (AmazonClientException ex)
            {
                // No region: neither in the settings nor in the SDK's chain (AWS_REGION, the profile, the instance).
                throw new InvalidOperationException($"{ex.Message}: set HeapDiagnostics:Egress:S3:Region (for example eu-west-1), AWS_REGION, or HeapDiagnostics:Egress:S3:ServiceUrl.", ex);
            }
        });
        services.TryAddSingleton(provider => AzureBlobClients.Create(provider.GetRequiredService<IOptions<HeapDumpEgressOptions>>().Value.AzureBlob, provider.GetService<TokenCredential>()));
        services.AddSingleton<DumpActivity>();
        services.AddSingleton<FleetReader>();
        services.AddHostedService<InstanceRecordWriter>();
        services.AddSingleton(provider => CreateBucket(provider) is { } bucket
            ? ActivatorUtilities.CreateInstance<HeapDumpStore>(provider, bucket)
            : ActivatorUtilities.CreateInstance<HeapDumpStore>(provider));
    }

    private static IDumpBucket? CreateBucket(IServiceProvider provider) => provider.GetRequiredService<IOptions<HeapDumpEgressOptions>>().Value.Provider switch
    {
        HeapDumpEgressProvider.S3 => ActivatorUtilities.CreateInstance<S3DumpBucket>(provider),
        HeapDumpEgressProvider.AzureBlob => ActivatorUtilities.CreateInstance<AzureBlobDumpBucket>(provider),
        _ => null,
    };

    private static void AddCapture(IServiceCollection services)
    {
        services.AddSingleton<MemoryDiagnosticsCollector>();
        services.AddSingleton<MemoryMapReader>();
        services.AddSingleton<MemoryMapHistory>();
        services.AddSingleton<CaptureCapabilities>();
        services.AddSingleton<CaptureAdmission>();
        services.TryAddSingleton<IHeapDumpWriter, RuntimeHeapDumpWriter>();
        services.AddSingleton<DumpDigestFollower>();
        services.AddSingleton<CaptureFiles>();
        services.AddMetrics();
        services.AddSingleton<CaptureMetrics>();
        services.AddSingleton<IHeapDumpCapture, HeapDumpCaptureService>();
    }

    private static void AddAnalysis(IServiceCollection services)
    {
        services.TryAddSingleton(_ => AnalyzerHost.Locate());
        services.AddSingleton<AnalysisBudget>();
        services.AddSingleton<AnalyzerProcess>();
        services.AddSingleton<HeapAnalysisService>();
        services.AddSingleton<AllocationSamplerProcess>();
        services.AddSingleton<AllocationSamplingService>();
        services.AddSingleton<AutoDumpAllocationSites>();
    }

    private static void AddMonitor(IServiceCollection services)
    {
        services.AddSingleton<MemoryTrend>();
        services.AddSingleton<IMemoryGrowth>(provider => provider.GetRequiredService<MemoryTrend>());
        services.TryAddSingleton<IMemorySampler, RuntimeMemorySampler>();
        services.AddSingleton<MemoryMetrics>();
        services.AddSingleton<IAutoDumpReporter, AutoDumpLeakReporter>();
        services.AddSingleton<AutoDumpAction>();
        services.AddSingleton<MemoryMonitor>();
        services.AddSingleton<MemoryMapSampling>();
        services.AddHostedService<MemoryMonitorService>();
    }

    /// <summary>The API-key scheme, and the policy every endpoint requires: API keys or the app's own users in the role.</summary>
    private static void AddAccessControl(IServiceCollection services)
    {
        services.AddSingleton<ApiKeyHashes>();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, displayName: "HeapDiag API key", configureOptions: null);
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<HeapDiagnosticsOptions>>((authorization, diagnostics) =>
        {
            // An app that defines a policy under this name itself keeps its own.
            if (authorization.GetPolicy(diagnostics.Value.Policy) is null)
            {
                authorization.AddPolicy(diagnostics.Value.Policy, policy => policy
                    .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                    .RequireAuthenticatedUser()
                    .RequireRole(diagnostics.Value.Role));
            }
        });
    }
}
