using System.Net;
using System.Net.Http.Json;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Local.Clients;

namespace OrderProcessing.Tests.Local;

/// <summary>
/// create-client makes a deployed stack's first admin client: the client it registers gets tokens and may use the
/// admin API; it refuses clearly what it cannot do, and never overwrites a client.
/// </summary>
public sealed class CreateClientCommandTests(CloudFixture cloud)
{
    [Fact]
    public async Task The_client_it_creates_gets_an_admin_token_that_registers_further_clients()
    {
        var stack = await cloud.ProvisionAsync("create-client");
        using var output = new StringWriter();

        var exit = await CreateClientCommand.RunAsync(
            ["--stack-name", stack.StackName, "--client-id", "ops-admin", "--dynamodb-endpoint", cloud.Cloud.DynamoDbEndpoint.ToString()],
            Repository.Root, new ConfigurationBuilder().Build(), output);

        Assert.True(exit == 0, output.ToString());
        var secret = output.ToString().Split('\n').Single(l => l.StartsWith("client_secret=", StringComparison.Ordinal))["client_secret=".Length..].Trim();
        await using var app = await AppFixture.CreateAsync(cloud, stack);
        using var token = await app.RequestTokenAsync("ops-admin", secret);
        Assert.Equal(Scopes.Admin, token.RootElement.GetProperty("scope").GetString());
        using var admin = app.CreateClient(token.RootElement.GetProperty("access_token").GetString()!);
        using var registered = await admin.PostAsJsonAsync(new Uri("/admin/clients", UriKind.Relative),
            new { name = "Shop front", scopes = Scopes.Customer });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
    }

    [Fact]
    public async Task It_never_overwrites_a_client_and_names_what_is_wrong()
    {
        var stack = await cloud.ProvisionAsync("create-client-twice");
        var endpoint = cloud.Cloud.DynamoDbEndpoint.ToString();
        using var first = new StringWriter();
        using var output = new StringWriter();
        var environment = new ConfigurationBuilder().Build();
        Assert.Equal(0, await CreateClientCommand.RunAsync(["--stack-name", stack.StackName, "--dynamodb-endpoint", endpoint], Repository.Root, environment, first));

        var again = await CreateClientCommand.RunAsync(["--stack-name", stack.StackName, "--dynamodb-endpoint", endpoint], Repository.Root, environment, output);
        var noStack = await CreateClientCommand.RunAsync(["--stack-name", "no-such-stack", "--dynamodb-endpoint", endpoint], Repository.Root, environment, output);
        var noStackName = await CreateClientCommand.RunAsync([], Repository.Root, environment, output);
        var badScope = await CreateClientCommand.RunAsync(["--stack-name", stack.StackName, "--scope", "root"], Repository.Root, environment, output);

        Assert.Equal((1, 1, 2, 2), (again, noStack, noStackName, badScope));
        var text = output.ToString();
        Assert.Contains("client admin already exists", text, StringComparison.Ordinal);
        Assert.Contains("table no-such-stack-clients does not exist", text, StringComparison.Ordinal);
        Assert.Contains("name the deployed stack with --stack-name", text, StringComparison.Ordinal);
        Assert.Contains("unknown scope root", text, StringComparison.Ordinal);
        Assert.DoesNotContain("client_secret=", text, StringComparison.Ordinal);
    }
}
