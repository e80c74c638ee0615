using System.Globalization;
using System.Text.Json.Nodes;
using Scalar.AspNetCore;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// The OpenAPI document at /openapi/v1.json, with the examples endpoints declare; and, where configuration
/// asks for it (the local host does), an interactive reference page at /scalar.
/// </summary>
public static class ApiDocs
{
    public const string ReferencePageSetting = "OpenApi:ReferencePage";

    internal static IServiceCollection AddApiDocs(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "OrderProcessing API";
                document.Info.Description = "Products, availability, orders. Every error is RFC 7807 ProblemDetails with a stable type URI.";
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
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
            app.MapScalarApiReference().AllowAnonymous();
        }

        return app;
    }

    /// <summary>An example request body for the OpenAPI document.</summary>
    public static TBuilder WithRequestExample<TBuilder>(this TBuilder builder, string json) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestExample(json));

    /// <summary>An example response body for the given status in the OpenAPI document.</summary>
    public static TBuilder WithResponseExample<TBuilder>(this TBuilder builder, int status, string json) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ResponseExample(status, json));

    private sealed record RequestExample(string Json);

    private sealed record ResponseExample(int Status, string Json);
}
