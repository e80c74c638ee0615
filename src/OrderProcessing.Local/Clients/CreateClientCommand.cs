using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Local.Clients;

/// <summary>
/// <c>dotnet run --project src/OrderProcessing.Local -- create-client --stack-name NAME [options]</c>: registers an
/// OAuth client straight in a stack's clients table, with the code POST /admin/clients uses, and prints its secret
/// once. A new deployment has no client at all, so its first admin client is made this way; every later one
/// through the admin API. The table is found from template.yaml and the stack name; nothing is created.
/// </summary>
public static class CreateClientCommand
{
    public const string Name = "create-client";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, string repositoryRoot, IConfiguration environment, TextWriter output,
        CancellationToken cancellationToken = default)
    {
        string? stackName = null;
        var clientId = "admin";
        var name = "Administrator";
        var scopes = new List<string>();
        var refreshTokens = false;
        var rateLimit = RateLimit.Default;
        var endpoint = environment["AWS_ENDPOINT_URL_DYNAMODB"] ?? environment["AWS_ENDPOINT_URL"];
        var endpointSource = environment["AWS_ENDPOINT_URL_DYNAMODB"] is not null ? "AWS_ENDPOINT_URL_DYNAMODB" : "AWS_ENDPOINT_URL";
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--stack-name" when value is not null:
                    stackName = value;
                    i++;
                    break;
                case "--client-id" when value is not null:
                    clientId = value;
                    i++;
                    break;
                case "--name" when value is not null:
                    name = value;
                    i++;
                    break;
                case "--scope" when value is not null:
                    scopes.AddRange(value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries));
                    i++;
                    break;
                case "--refresh-tokens":
                    refreshTokens = true;
                    break;
                case "--rate-limit" when value is not null && ParseRateLimit(value) is { } parsed:
                    rateLimit = parsed;
                    i++;
                    break;
                case "--dynamodb-endpoint" when value is not null:
                    endpoint = value;
                    endpointSource = "--dynamodb-endpoint";
                    i++;
                    break;
                case "--repository" when value is not null:
                    repositoryRoot = Path.GetFullPath(value);
                    i++;
                    break;
                case "-h" or "--help":
                    await output.WriteLineAsync(Usage);
                    return 0;
                default:
                    await output.WriteLineAsync($"error: unexpected argument {args[i]}.\n{Usage}");
                    return 2;
            }
        }

        if (scopes.Count == 0)
        {
            scopes.Add(Scopes.Admin);
        }

        if (stackName is null)
        {
            await output.WriteLineAsync($"error: name the deployed stack with --stack-name (samconfig.toml's stack_name, e.g. orderprocessing).\n{Usage}");
            return 2;
        }

        if (scopes.FirstOrDefault(s => !Scopes.All.Contains(s)) is { } unknown)
        {
            await output.WriteLineAsync($"error: unknown scope {unknown}; the scopes are {string.Join(", ", Scopes.All)}.");
            return 2;
        }

        if (!ClientRegistry.IsWellFormedClientId(clientId))
        {
            await output.WriteLineAsync($"error: '{clientId}' is not a well-formed client id (letters, digits, - _ . ~; at most 128).");
            return 2;
        }

        try
        {
            await CommandAws.CheckAsync(environment, endpoint, endpointSource, cancellationToken);
        }
        catch (SetupException e)
        {
            await output.WriteLineAsync($"error: {e.Message}");
            return 2;
        }

        var template = SamTemplate.Load(Path.Combine(repositoryRoot, "template.yaml"));
        var context = new StackContext(stackName, LocalCloud.Region, "000000000000", template.ParameterDefaults);
        var table = context.Resolve(template.ResourcesOfType("AWS::DynamoDB::Table").Single(t => t.LogicalId == "ClientsTable").Property("TableName"));
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(environment)
            .AddInMemoryCollection(CommandAws.Settings(environment, "DYNAMODB", endpoint))
            .AddInMemoryCollection([KeyValuePair.Create("CLIENTS_TABLE", table)])
            .Build();

        using var dynamo = AwsClients.OptionsFor(configuration, "DYNAMODB").CreateServiceClient<IAmazonDynamoDB>();
        var registry = new ClientRegistry(dynamo, new ResourceNames(configuration), AuthOptions.From(configuration), TimeProvider.System);
        try
        {
            var registered = await registry.RegisterAsync(new ClientRegistration(name, scopes, rateLimit, refreshTokens), clientId,
                cancellationToken: cancellationToken);
            if (registered is not { } created)
            {
                await output.WriteLineAsync($"error: client {clientId} already exists in {table}; choose another --client-id, or rotate its secret through POST /admin/clients/{clientId}/rotate-secret.");
                return 1;
            }

            await output.WriteLineAsync($"Registered client {created.Client.ClientId} ({string.Join(' ', created.Client.Scopes)}) in {table}.");
            await output.WriteLineAsync($"client_id={created.Client.ClientId}");
            await output.WriteLineAsync($"client_secret={created.Secret}");
            await output.WriteLineAsync("The secret is shown only now; only its hash is stored.");
            return 0;
        }
        catch (ResourceNotFoundException)
        {
            await output.WriteLineAsync($"error: table {table} does not exist at {endpoint ?? "AWS"}; is the stack deployed, and are --stack-name and the region right?");
            return 1;
        }
    }

    /// <summary>"100/60": 100 requests per 60 seconds.</summary>
    private static RateLimit? ParseRateLimit(string text) =>
        text.Split('/') is [var requests, var seconds]
        && int.TryParse(requests, CultureInfo.InvariantCulture, out var r) && r > 0
        && int.TryParse(seconds, CultureInfo.InvariantCulture, out var s) && s > 0
            ? new RateLimit(r, s)
            : null;

    private const string Usage = """
        Usage: dotnet run --project src/OrderProcessing.Local -- create-client --stack-name NAME [options]
          --stack-name NAME        the deployed stack (samconfig.toml's stack_name, e.g. orderprocessing)
          --client-id ID           the client id (default admin)
          --name TEXT              a name for people (default Administrator)
          --scope SCOPE            a scope to grant; repeat or separate with commas (default admin)
          --refresh-tokens         the client may use refresh tokens
          --rate-limit N/SECONDS   requests per window (default 100/60)
          --dynamodb-endpoint URL  DynamoDB endpoint (default AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL; none = AWS itself)
        Uses the AWS credentials and region of the environment (AWS_PROFILE, AWS_REGION, ...), as the AWS CLI does.
        Prints the client's secret once.
        """;
}
