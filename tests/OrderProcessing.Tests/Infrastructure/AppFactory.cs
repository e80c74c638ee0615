using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// The Functions app in memory, configured exactly as the local host configures it: the environment
/// template.yaml gives the functions, resolved against a provisioned stack, plus the backend's endpoints.
/// </summary>
public sealed class AppFactory(CloudFixture cloud, ProvisionedStack stack, IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public ProvisionedStack Stack { get; } = stack;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Stack.Environment)
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in cloud.Cloud.ClientSettings)
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(TemporaryTestAuth.AddTo);
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }
}
