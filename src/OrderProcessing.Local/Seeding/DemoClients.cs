using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;

namespace OrderProcessing.Local.Seeding;

/// <summary>An OAuth client the local host registers so the system can be tried at once.</summary>
public sealed record SeededClient(string ClientId, string Secret, string Name, IReadOnlyList<string> Scopes, bool RefreshTokens);

/// <summary>
/// Registers the demo customer app and the admin client in the local stack, if they are not there yet. Only the
/// local host calls this: a deployed stack registers its clients through the admin API.
/// </summary>
public static class DemoClients
{
    public static readonly SeededClient Demo = new("demo", "demo-secret", "Demo customer app", Scopes.Customer, RefreshTokens: true);

    public static readonly SeededClient Admin = new("admin", "admin-secret", "Local administrator", [Scopes.Admin], RefreshTokens: false);

    public static IReadOnlyList<SeededClient> All { get; } = [Demo, Admin];

    public static async Task<IReadOnlyList<SeededClient>> SeedAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var registry = services.GetRequiredService<ClientRegistry>();
        foreach (var client in All)
        {
            // Null means the client is already registered: seeding twice changes nothing.
            await registry.RegisterAsync(new ClientRegistration(client.Name, client.Scopes, RateLimit.Default, client.RefreshTokens),
                client.ClientId, client.Secret, cancellationToken);
        }

        return All;
    }
}
