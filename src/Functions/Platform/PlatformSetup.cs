namespace OrderProcessing.Functions.Platform;

/// <summary>What every capability shares: AWS clients, errors, correlation, health, API docs.</summary>
internal static class PlatformSetup
{
    public static WebApplicationBuilder AddPlatform(this WebApplicationBuilder builder)
    {
        builder.AddJsonLogging();
        builder.AddTracing();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InvocationContext>();
        builder.Services.AddSingleton<Metrics>();
        builder.Services.AddSingleton<ResourceNames>();
        builder.Services.AddAwsClients();
        builder.Services.AddApiJson();
        builder.Services.AddProblems();
        builder.Services.AddHealth();
        builder.Services.AddApiDocs();
        return builder;
    }

    public static WebApplication UsePlatform(this WebApplication app)
    {
        app.UseInvocationContext();
        app.UseCorrelation();
        app.UseProblems();
        return app;
    }
}
