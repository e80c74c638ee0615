using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.DeadLetters;

/// <summary>POST /admin/dlq/{queue}/redrive (admin scope): moves a DLQ's messages back to their source queue.</summary>
public static class DeadLettersEndpoints
{
    public static IServiceCollection AddDeadLetters(this IServiceCollection services)
    {
        services.AddSingleton<DeadLetterRedrive>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, DeadLettersJson.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapDeadLetters(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/dlq").WithTags(ApiTags.DeadLetters).RequireAuthorization(Scopes.Admin);
        admin.MapPost("/{queue}/redrive", RedriveAsync)
            .WithName("RedriveDeadLetters")
            .WithSummary("Moves the messages of a queue's DLQ back to the queue, to be processed again; answers how many moved.")
            .WithDescription($"queue: one of {string.Join(", ", DeadLetterRoutes.Known.Keys)}. limit: at most this many messages (default {DeadLetterRedrive.DefaultLimit}).")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    public static async Task<Results<Ok<RedriveResult>, ValidationProblem, ProblemHttpResult>> RedriveAsync(
        string queue, int? limit, IConfiguration configuration, DeadLetterRedrive redrive, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 10_000)
        {
            return ValidationProblems.From("limit", "Must be 1 to 10000.");
        }

        if (DeadLetterRoutes.Find(queue, configuration) is not { } route)
        {
            return Problems.Problem(StatusCodes.Status404NotFound, "queue-not-found", "No such queue with a DLQ.",
                $"Redrive one of {string.Join(", ", DeadLetterRoutes.Known.Keys)}; '{queue}' is not one, or is not configured for this function.");
        }

        return TypedResults.Ok(await redrive.RedriveAsync(route, limit ?? DeadLetterRedrive.DefaultLimit, cancellationToken));
    }
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RedriveResult))]
internal sealed partial class DeadLettersJson : JsonSerializerContext;
