using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>Client administration (admin scope): register, list, show, disable, rotate the secret.</summary>
public static class AdminClients
{
    private const string LogCategory = "OrderProcessing.Auth.Admin";

    public static IEndpointRouteBuilder MapAdminClients(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/clients").RequireAuthorization(Scopes.Admin).WithTags(ApiTags.ClientAdministration);
        group.MapPost("", RegisterAsync).WithName("RegisterClient")
            .WithSummary("Registers an OAuth client with its scopes and rate limit; the answer holds its secret, shown this once.");
        group.MapGet("", ListAsync).WithName("ListClients").WithSummary("Every registered client, without secrets.");
        group.MapGet("/{clientId}", GetAsync).WithName("GetClient").WithSummary("One registered client, without its secret.");
        group.MapPost("/{clientId}/disable", DisableAsync).WithName("DisableClient")
            .WithSummary("Disables a client: no new tokens, and its refresh tokens stop working.");
        group.MapPost("/{clientId}/rotate-secret", RotateSecretAsync).WithName("RotateClientSecret")
            .WithSummary("Issues a new secret for a client; the old one stops working at once.");
        return app;
    }

    internal static async Task<Results<Created<RegisteredClientResponse>, ValidationProblem>> RegisterAsync(RegisterClientRequest request,
        ClientRegistry clients, ILoggerFactory loggers, HttpContext context, CancellationToken cancellationToken)
    {
        var errors = Validate(request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, type: Problems.Type("validation"), title: "The client registration is invalid.");
        }

        var registration = new ClientRegistration(request.Name!.Trim(), request.Scopes!, request.RateLimit ?? RateLimit.Default,
            request.RefreshTokens ?? false);
        var (client, secret) = await clients.RegisterAsync(registration, cancellationToken: cancellationToken)
            ?? throw new InvalidOperationException("A freshly generated client id was already taken.");
        loggers.CreateLogger(LogCategory).ClientRegistered(client.ClientId, context.User.ClientId(), string.Join(' ', client.Scopes));
        return TypedResults.Created($"/admin/clients/{client.ClientId}", RegisteredClientResponse.From(client, secret));
    }

    internal static async Task<Ok<IReadOnlyList<ClientResponse>>> ListAsync(ClientRegistry clients, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<ClientResponse>>([.. (await clients.ListAsync(cancellationToken)).Select(ClientResponse.From)]);

    internal static async Task<Results<Ok<ClientResponse>, ProblemHttpResult>> GetAsync(string clientId, ClientRegistry clients,
        CancellationToken cancellationToken) =>
        await clients.FindAsync(clientId, cancellationToken) is { } client
            ? TypedResults.Ok(ClientResponse.From(client))
            : NotFound(clientId);

    internal static async Task<Results<Ok<ClientResponse>, ProblemHttpResult>> DisableAsync(string clientId, ClientRegistry clients,
        ILoggerFactory loggers, HttpContext context, CancellationToken cancellationToken)
    {
        if (await clients.DisableAsync(clientId, cancellationToken) is not { } client)
        {
            return NotFound(clientId);
        }

        loggers.CreateLogger(LogCategory).ClientDisabled(clientId, context.User.ClientId());
        return TypedResults.Ok(ClientResponse.From(client));
    }

    internal static async Task<Results<Ok<RegisteredClientResponse>, ProblemHttpResult>> RotateSecretAsync(string clientId,
        ClientRegistry clients, ILoggerFactory loggers, HttpContext context, CancellationToken cancellationToken)
    {
        if (await clients.RotateSecretAsync(clientId, cancellationToken) is not var (client, secret))
        {
            return NotFound(clientId);
        }

        loggers.CreateLogger(LogCategory).ClientSecretRotated(clientId, context.User.ClientId());
        return TypedResults.Ok(RegisteredClientResponse.From(client, secret));
    }

    private static ProblemHttpResult NotFound(string clientId) =>
        Problems.Problem(StatusCodes.Status404NotFound, "client-not-found", "No such client.", $"There is no client '{clientId}'.");

    private static Dictionary<string, string[]> Validate(RegisterClientRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Trim().Length > 200)
        {
            errors["name"] = ["A name of 1 to 200 characters is required."];
        }

        if (request.Scopes is not { Count: > 0 })
        {
            errors["scopes"] = [$"At least one scope is required, from: {string.Join(", ", Scopes.All)}."];
        }
        else if (request.Scopes.Except(Scopes.All, StringComparer.Ordinal).ToList() is { Count: > 0 } unknown)
        {
            errors["scopes"] = [$"Unknown scopes: {string.Join(", ", unknown)}; known: {string.Join(", ", Scopes.All)}."];
        }

        if (request.RateLimit is { IsValid: false })
        {
            errors["rateLimit"] = [$"requests must be 1 to 1,000,000 and windowSeconds 1 to {RateLimit.MaxWindowSeconds}."];
        }

        return errors;
    }
}

/// <summary>POST /admin/clients body. rateLimit defaults to 100 requests per 60 s; refreshTokens to false.</summary>
public sealed record RegisterClientRequest(string? Name, IReadOnlyList<string>? Scopes, RateLimit? RateLimit, bool? RefreshTokens);

/// <summary>A client as the admin API shows it (never its secret or hash).</summary>
public sealed record ClientResponse(string ClientId, string Name, IReadOnlyList<string> Scopes, RateLimit RateLimit, bool RefreshTokens,
    bool Disabled, DateTimeOffset CreatedAt)
{
    public static ClientResponse From(OAuthClient client) =>
        new(client.ClientId, client.Name, client.Scopes, client.RateLimit, client.RefreshTokens, client.Disabled, client.CreatedAt);
}

/// <summary>A client with its secret: shown once, when it is registered or its secret is rotated.</summary>
public sealed record RegisteredClientResponse(string ClientId, string ClientSecret, string Name, IReadOnlyList<string> Scopes,
    RateLimit RateLimit, bool RefreshTokens, bool Disabled, DateTimeOffset CreatedAt)
{
    public static RegisteredClientResponse From(OAuthClient client, string secret) =>
        new(client.ClientId, secret, client.Name, client.Scopes, client.RateLimit, client.RefreshTokens, client.Disabled, client.CreatedAt);
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RegisterClientRequest))]
[JsonSerializable(typeof(ClientResponse))]
[JsonSerializable(typeof(IReadOnlyList<ClientResponse>))]
[JsonSerializable(typeof(RegisteredClientResponse))]
internal sealed partial class AdminJson : JsonSerializerContext;
