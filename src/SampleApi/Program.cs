using Microsoft.OpenApi;
using SampleApi;
using SampleApi.Leaks;
using Serilog;

var builder = WebApplication.CreateBuilder(args);

// Serilog from appsettings ("Serilog" section). Serilog.AspNetCore does not restore from this project's
// package source, so the plain Microsoft.Extensions.Logging provider is used with a request-log middleware.
var serilog = new LoggerConfiguration().ReadFrom.Configuration(builder.Configuration);
if (!builder.Configuration.GetSection("Serilog:WriteTo").Exists())
{
    // Started from another directory, appsettings.json is not found: log to the console rather than nowhere.
    serilog.WriteTo.Console();
}

builder.Logging.ClearProviders();
builder.Logging.AddSerilog(serilog.CreateLogger(), dispose: true);

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

app.UseMiddleware<RequestLogMiddleware>();
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
