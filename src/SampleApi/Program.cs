using Microsoft.OpenApi;
using SampleApi;
using SampleApi.Leaks;
using Serilog;

var builder = WebApplication.CreateBuilder(args);

// Serilog as its users add it: configured from appsettings.json ("Serilog" section, read from the host's final
// configuration so WebApplicationFactory's overrides count), plus any sink registered in DI (tests register one).
builder.Services.AddSerilog(
    (services, serilog) =>
    {
        var configuration = services.GetRequiredService<IConfiguration>();
        serilog.ReadFrom.Configuration(configuration).ReadFrom.Services(services);
        if (!configuration.GetSection("Serilog:WriteTo").Exists())
        {
            // Started from another directory, appsettings.json is not found: log to the console rather than nowhere.
            serilog.WriteTo.Console();
        }
    },
    preserveStaticLogger: true); // no static Log.Logger: each host (and each test's) keeps its own logger

// The one line a service needs: endpoints under /debug, the policy, the API key scheme.
builder.Services.AddHeapDiagnostics();
builder.Services.AddHealthChecks().AddHeapDiagnostics();

builder.Services.AddSingleton<LeakStore>();
builder.Services.AddEndpointsApiExplorer();
builder.Services.AddSwaggerGen(swagger =>
{
    swagger.SwaggerDoc("v1", new OpenApiInfo { Title = "HeapDiag SampleApi", Version = "v1", Description = "Demo of HeapDiag: memory diagnostics and heap dumps behind an API key, and routes that leak on purpose." });
    swagger.AddSecurityDefinition(ApiKeyOperationFilter.SchemeName, new OpenApiSecurityScheme
    {
        Type = SecuritySchemeType.ApiKey,
        In = ParameterLocation.Header,
        Name = "X-Api-Key",
        Description = "A key from HeapDiagnostics:ApiKeys (Development: see appsettings.Development.json).",
    });
    swagger.OperationFilter<ApiKeyOperationFilter>();
    swagger.IncludeXmlComments(typeof(Program).Assembly);
});

var app = builder.Build();

// One line per request ("HTTP GET /hello responded 200 in 0.1234 ms"), through this host's logger: without it the
// middleware would write to the static Log.Logger, which this app leaves silent.
app.UseSerilogRequestLogging(requests => requests.Logger = app.Services.GetRequiredService<Serilog.ILogger>());
app.UseSwagger();
app.UseSwaggerUI(ui => ui.DocumentTitle = "HeapDiag SampleApi");

app.MapGet("/", () => Results.Redirect("/swagger")).ExcludeFromDescription();
app.MapHealthChecks("/health");
app.MapGet("/hello", (TimeProvider time) => new Greeting("Hello from SampleApi", time.GetUtcNow()))
    .WithTags("Sample")
    .WithSummary("An ordinary endpoint: no key needed, unaffected by HeapDiag");
app.MapLeakEndpoints();
app.MapOutsideHeapLeakEndpoints();

app.Run();

/// <summary>The answer of GET /hello.</summary>
internal sealed record Greeting(string Message, DateTimeOffset Time);

/// <summary>The app's entry point, public so that tests can start it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
