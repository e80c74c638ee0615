using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using OrderProcessing.Functions.Auth;
using Scalar.AspNetCore;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// The OpenAPI document at /openapi/v1.json, complete enough to generate a working client from: the OAuth2
/// client-credentials scheme and each operation's scopes (from its authorization policy), the answers every protected
/// operation can give (401, 403, 429, 503) with the rate-limit headers, Idempotency-Key where an operation takes it,
/// the examples endpoints declare, and one tag per capability in a customer app's order of use. Where configuration
/// asks for it (the local host does), an interactive reference page at /scalar.
/// </summary>
public static class ApiDocs
{
    public const string ReferencePageSetting = "OpenApi:ReferencePage";
    public const string SecuritySchemeName = "oauth2";

    /// <summary>Response headers every answer to an authenticated request carries (IETF RateLimit headers draft).</summary>
    private static readonly (string Name, string Description)[] RateLimitHeaders =
    [
        ("RateLimit-Limit", "Requests this client may make in the current window."),
        ("RateLimit-Remaining", "Requests left in the current window."),
        ("RateLimit-Reset", "Seconds until the current window ends."),
    ];

    private const string RateLimitPolicyHeader = "RateLimit-Policy";
    private const string RetryAfterHeader = "Retry-After";

    internal static IServiceCollection AddApiDocs(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                DescribeSchema(schema, context.JsonTypeInfo);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                AddExamples(operation, metadata);
                AddSecurity(operation, context.Document!, metadata);
                if (metadata.OfType<IdempotencyKeyMetadata>().Any())
                {
                    AddIdempotency(operation, context.Document!);
                }

                return Task.CompletedTask;
            });
        });

    internal static IEndpointRouteBuilder MapApiDocs(this IEndpointRouteBuilder app)
    {
        // Public, like the docs of any public API; every endpoint it describes is protected on its own.
        // Only the one document there is: another name is the ordinary 404 ProblemDetails, not the generator's plain text.
        app.MapOpenApi("/openapi/{documentName:regex(^v1$)}.json").AllowAnonymous();
        if (app.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<bool>(ReferencePageSetting))
        {
            app.MapScalarApiReference(ReferencePage).AllowAnonymous();
        }

        return app;
    }

    /// <summary>Our API and nothing else: no AI chat, no vendor toolbar or upsells, no telemetry.</summary>
    private static void ReferencePage(ScalarOptions options) => options
        .WithTitle("OrderProcessing API reference")
        .DisableAgent()
        .DisableMcp()
        .DisableTelemetry()
        .HideDeveloperTools()
        .WithDotNetFlag(false)
        .AddPreferredSecuritySchemes([SecuritySchemeName])
        .WithDefaultHttpClient(ScalarTarget.Shell, ScalarClient.Curl);

    /// <summary>An example request body for the OpenAPI document.</summary>
    public static TBuilder WithRequestExample<TBuilder>(this TBuilder builder, string json) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestExample(json));

    /// <summary>An example response body for the given status in the OpenAPI document.</summary>
    public static TBuilder WithResponseExample<TBuilder>(this TBuilder builder, int status, string json) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ResponseExample(status, json));

    /// <summary>
    /// The endpoints take an optional Idempotency-Key header and replay their first answer with
    /// <c>Idempotent-Replayed: true</c>; the document says so.
    /// </summary>
    public static TBuilder AcceptsIdempotencyKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new IdempotencyKeyMetadata());

    private static void Describe(OpenApiDocument document)
    {
        document.Info.Title = "OrderProcessing API";
        document.Info.Version = "v1";
        document.Info.Description =
            "Products, availability and orders for a customer app, their administration, and the carrier's webhook. "
            + "Get a token from POST /oauth/token (OAuth2 client credentials, HTTP Basic client authentication) and send it as "
            + "`Authorization: Bearer`. Every error is RFC 7807 ProblemDetails (`application/problem+json`) with a stable `type` URI, "
            + "`traceId` and `correlationId`; the OAuth endpoints answer RFC 6749 error JSON.";
        document.Info.License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" };

        // The generator writes the request's base with a trailing slash; paths start with one already.
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        var origin = document.Servers?.FirstOrDefault()?.Url ?? "";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.OAuth2,
            Description = "OAuth2 client credentials. Authenticate the client with HTTP Basic (or client_id and client_secret in the form).",
            Flows = new OpenApiOAuthFlows
            {
                ClientCredentials = new OpenApiOAuthFlow
                {
                    TokenUrl = new Uri(origin + OAuthEndpoints.TokenPath, UriKind.RelativeOrAbsolute),
                    RefreshUrl = new Uri(origin + OAuthEndpoints.TokenPath, UriKind.RelativeOrAbsolute),
                    Scopes = new Dictionary<string, string>
                    {
                        [Scopes.ProductsRead] = "Read the catalogue and check availability.",
                        [Scopes.OrdersRead] = "Read the client's own orders and their history.",
                        [Scopes.OrdersWrite] = "Place and cancel the client's own orders.",
                        [Scopes.NotificationsRead] = "Follow the client's orders live over the WebSocket API.",
                        [Scopes.Admin] = "Administer the catalogue, the OAuth clients and the dead-letter queues.",
                    },
                },
            },
        };

        document.Components.Headers ??= new Dictionary<string, IOpenApiHeader>();
        foreach (var (name, description) in RateLimitHeaders)
        {
            document.Components.Headers[name] = new OpenApiHeader
            {
                Description = description,
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" },
            };
        }

        document.Components.Headers[RateLimitPolicyHeader] = new OpenApiHeader
        {
            Description = "The client's quota as `<requests>;w=<window seconds>`.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            Example = JsonValue.Create("600;w=60"),
        };
        document.Components.Headers[RetryAfterHeader] = new OpenApiHeader
        {
            Description = "Seconds to wait before trying again.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
        };
        document.Components.Headers[IdempotencyKeyMetadata.ReplayedHeader] = new OpenApiHeader
        {
            Description = "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("true")] },
        };

        var used = (document.Paths ?? new OpenApiPaths()).Values
            .SelectMany(p => p.Operations?.Values.AsEnumerable() ?? [])
            .SelectMany(o => o.Tags ?? new HashSet<OpenApiTagReference>())
            .Select(t => t.Name)
            .ToHashSet(StringComparer.Ordinal);
        document.Tags = new HashSet<OpenApiTag>(ApiTags.InOrder
            .Where(t => used.Contains(t.Name))
            .Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
    }

    /// <summary>
    /// A member left out when null is not required; a problem may carry members of its own (extensions), and every
    /// problem of ours carries traceId and correlationId.
    /// </summary>
    private static void DescribeSchema(OpenApiSchema schema, System.Text.Json.Serialization.Metadata.JsonTypeInfo type)
    {
        foreach (var property in type.Properties)
        {
            var omittedWhenNull = property.AttributeProvider?.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonIgnoreAttribute), true)
                .OfType<System.Text.Json.Serialization.JsonIgnoreAttribute>()
                .Any(a => a.Condition is System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull
                    or System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault) == true;
            if (omittedWhenNull)
            {
                schema.Required?.Remove(property.Name);
            }
        }

        if (typeof(Microsoft.AspNetCore.Mvc.ProblemDetails).IsAssignableFrom(type.Type))
        {
            schema.AdditionalPropertiesAllowed = true;
            schema.AdditionalProperties = new OpenApiSchema(); // any extension member: items, currentStatus, errors
            schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
            schema.Properties["traceId"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "The W3C trace id of the request, for support.",
            };
            schema.Properties["correlationId"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "The correlation id of the request (the X-Correlation-Id header); quote it when reporting a problem.",
            };
        }
    }

    private static void AddExamples(OpenApiOperation operation, IList<object> metadata)
    {
        foreach (var example in metadata.OfType<RequestExample>())
        {
            foreach (var media in operation.RequestBody?.Content?.Values ?? [])
            {
                media.Example = JsonNode.Parse(example.Json);
            }
        }

        foreach (var example in metadata.OfType<ResponseExample>())
        {
            if (operation.Responses?.TryGetValue(example.Status.ToString(CultureInfo.InvariantCulture), out var response) == true)
            {
                foreach (var media in response.Content?.Values ?? [])
                {
                    media.Example = JsonNode.Parse(example.Json);
                }
            }
        }
    }

    /// <summary>
    /// The scopes an operation needs come from its authorization policies (one policy per scope); an endpoint
    /// without <c>AllowAnonymous</c> needs a token even without a scope (the fallback policy).
    /// </summary>
    private static void AddSecurity(OpenApiOperation operation, OpenApiDocument document, IList<object> metadata)
    {
        if (metadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [];
            return;
        }

        var scopes = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>()
            .Where(p => Scopes.All.Contains(p)).Distinct(StringComparer.Ordinal).ToList();
        operation.Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, document)] = scopes },
        ];

        operation.Responses ??= new OpenApiResponses();
        AddProblem(operation, document, StatusCodes.Status401Unauthorized,
            "No access token, or one that is expired, revoked or not ours (see WWW-Authenticate).");
        if (scopes.Count > 0)
        {
            AddProblem(operation, document, StatusCodes.Status403Forbidden,
                $"The access token lacks the scope {string.Join(", ", scopes)} (type insufficient-scope, requiredScopes).");
        }

        AddProblem(operation, document, StatusCodes.Status429TooManyRequests,
            "This client's rate limit is used up for the current window; retry after Retry-After seconds.", RetryAfterHeader);
        AddProblem(operation, document, StatusCodes.Status503ServiceUnavailable,
            "A dependency is unavailable right now; nothing was changed. Retry after Retry-After seconds.", RetryAfterHeader);

        // Every answer to a request with a valid token carries the client's quota, including the 429 and 503.
        foreach (var (status, response) in operation.Responses.Where(r => r.Key != "401"))
        {
            if (response is OpenApiResponse concrete)
            {
                concrete.Headers ??= new Dictionary<string, IOpenApiHeader>();
                foreach (var (name, _) in RateLimitHeaders)
                {
                    concrete.Headers[name] = new OpenApiHeaderReference(name, document);
                }

                concrete.Headers[RateLimitPolicyHeader] = new OpenApiHeaderReference(RateLimitPolicyHeader, document);
            }
        }
    }

    private static void AddProblem(OpenApiOperation operation, OpenApiDocument document, int status, string description, string? header = null)
    {
        var key = status.ToString(CultureInfo.InvariantCulture);
        var response = operation.Responses!.TryGetValue(key, out var existing) && existing is OpenApiResponse found ? found : new OpenApiResponse();
        response.Description = description;
        response.Content ??= new Dictionary<string, OpenApiMediaType>();
        if (!response.Content.ContainsKey(Problems.ContentType))
        {
            response.Content[Problems.ContentType] = new OpenApiMediaType { Schema = new OpenApiSchemaReference("ProblemDetails", document) };
        }

        if (header is not null)
        {
            response.Headers ??= new Dictionary<string, IOpenApiHeader>();
            response.Headers[header] = new OpenApiHeaderReference(header, document);
        }

        operation.Responses[key] = response;
    }

    private static void AddIdempotency(OpenApiOperation operation, OpenApiDocument document)
    {
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = IdempotencyKeyMetadata.Header,
            In = ParameterLocation.Header,
            Required = false,
            Description = "Makes retries safe: the first answer for this key is stored for 24 h and replayed to a retry with the same body "
                + "(Idempotent-Replayed: true); the same key with a different body is a 422. 1 to 255 printable ASCII characters, a UUID say.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255 },
            Example = JsonValue.Create("5f0c2a64-3a0e-4c64-9d3b-0d6f2b9f1e7a"),
        });

        // Stored answers, replayed as they were: the success and the domain outcomes, not the transient ones.
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (status is not ("400" or "401" or "403" or "422" or "429" or "503") && response is OpenApiResponse concrete)
            {
                concrete.Headers ??= new Dictionary<string, IOpenApiHeader>();
                concrete.Headers[IdempotencyKeyMetadata.ReplayedHeader] = new OpenApiHeaderReference(IdempotencyKeyMetadata.ReplayedHeader, document);
            }
        }
    }

    private sealed record RequestExample(string Json);

    private sealed record ResponseExample(int Status, string Json);

    private sealed record IdempotencyKeyMetadata
    {
        public const string Header = Idempotency.IdempotencyStore.HeaderName;
        public const string ReplayedHeader = Idempotency.StoredResponseResult.ReplayedHeader;
    }
}

/// <summary>One OpenAPI tag per capability, in the order a customer app meets them; the reference page follows it.</summary>
public static class ApiTags
{
    public const string OAuth = "OAuth";
    public const string Products = "Products";
    public const string Orders = "Orders";
    public const string ProductAdministration = "Product administration";
    public const string ClientAdministration = "Client administration";
    public const string DeadLetters = "Dead letters";
    public const string CarrierWebhook = "Carrier webhook";

    internal static readonly (string Name, string Description)[] InOrder =
    [
        (OAuth, "Tokens (client credentials, refresh), revocation, the signing keys and the server metadata."),
        (Products, "The catalogue and availability (scope products:read)."),
        (Orders, "Place, read, list and cancel the client's own orders (scopes orders:read, orders:write)."),
        (ProductAdministration, "Create and change products and set their stock (scope admin)."),
        (ClientAdministration, "Register, list, disable OAuth clients and rotate their secrets (scope admin)."),
        (DeadLetters, "Move a queue's dead letters back to be processed again (scope admin)."),
        (CarrierWebhook, "Shipment status events from the carrier, authenticated by an HMAC signature instead of a token."),
    ];
}
