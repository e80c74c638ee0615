using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Events;

/// <summary>
/// POST /events: every non-HTTP Lambda event, passed through by the Lambda Web Adapter as raw JSON. The body
/// says what it is: <c>Records[]</c> of an SQS queue or DynamoDB stream (<see cref="BatchDispatch"/>), or an API
/// Gateway WebSocket event with <c>requestContext.routeKey</c> (<see cref="WebSocketDispatch"/>). The answer is
/// always JSON, because the adapter hands the body to Lambda as the function result:
/// <c>{"batchItemFailures":[...]}</c> for batches, the route's <c>{"statusCode":...}</c> for WebSocket events.
/// </summary>
public static class EventsEndpoint
{
    public const string Path = "/events";

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder app)
    {
        // The routes are built here, at start-up, so that a function configured with two handlers for one source
        // fails to start rather than on its first event.
        app.ServiceProvider.GetRequiredService<EventRoutes>();
        // Reached only through the adapter's pass-through path on Lambda; no API Gateway route leads here.
        app.MapPost(Path, HandleAsync).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    public static async Task<Results<Ok<BatchResponse>, Ok<WebSocketResponse>, ProblemHttpResult>> HandleAsync(
        HttpContext context, [FromServices] EventRoutes routes, [FromServices] ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return UnknownEvent($"The body is not JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            var logger = loggers.CreateLogger(typeof(EventsEndpoint));
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("Records", out var records) && records.ValueKind == JsonValueKind.Array)
            {
                var batch = await BatchDispatch.DispatchAsync(root, records, routes, context.RequestServices, logger, cancellationToken);
                return batch.IsAnswered ? TypedResults.Ok(batch.Response) : UnknownEvent(batch.Refusal);
            }

            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("requestContext", out var requestContext) && requestContext.ValueKind == JsonValueKind.Object
                && EventJson.Text(requestContext, "routeKey") is { } route)
            {
                return TypedResults.Ok(await WebSocketDispatch.DispatchAsync(root, route, routes, context.RequestServices, cancellationToken));
            }

            return UnknownEvent("Expected Records of an SQS queue or DynamoDB stream, or an API Gateway WebSocket event.");
        }
    }

    private static ProblemHttpResult UnknownEvent(string detail) =>
        Problems.Problem(StatusCodes.Status400BadRequest, "unknown-event", "The event is not one this function handles.", detail);
}
