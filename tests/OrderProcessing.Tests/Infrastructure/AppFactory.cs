using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// The Functions app in memory, configured exactly as the local host configures it: the environment
/// template.yaml gives the functions, resolved against a provisioned stack, plus the backend's endpoints.
/// Each factory signs tokens with keys in its own temporary folder unless settings name AUTH_LOCAL_KEY_DIR
/// (give two factories the same folder to play two instances of one deployment), and hashes client secrets with
/// 1,000 PBKDF2 iterations instead of 600,000 so that minting tokens in tests stays fast.
/// </summary>
public sealed class AppFactory(CloudFixture cloud, ProvisionedStack stack, IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    private readonly bool _ownsKeyDirectory = settings?.ContainsKey("AUTH_LOCAL_KEY_DIR") != true;

    public ProvisionedStack Stack { get; } = stack;

    /// <summary>Where this app keeps its signing keys.</summary>
    public string SigningKeyDirectory { get; } = settings?.GetValueOrDefault("AUTH_LOCAL_KEY_DIR")
        ?? Path.Combine(Path.GetTempPath(), "orderprocessing-tests", Guid.NewGuid().ToString("N"));

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

        builder.UseSetting("AUTH_LOCAL_KEY_DIR", SigningKeyDirectory);
        builder.UseSetting("AUTH_SECRET_HASH_ITERATIONS", "1000");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsKeyDirectory && Directory.Exists(SigningKeyDirectory))
        {
            Directory.Delete(SigningKeyDirectory, recursive: true);
        }
    }
}
