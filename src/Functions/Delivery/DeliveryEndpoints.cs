using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Events;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// Delivery: shipments from order events (DeliveryProcessor, order-events.fifo), carrier progress from the
/// simulator (carrier-events) and the webhook (POST /carrier/webhook), and order status from delivery status
/// (StatusUpdater, delivery-status-queue.fifo).
/// </summary>
public static class DeliveryEndpoints
{
    public static IServiceCollection AddDelivery(this IServiceCollection services)
    {
        // Read from the app's final configuration when first needed, as the local host and tests add settings late.
        services.AddSingleton(sp => Options.Create(CarrierOptions.From(sp.GetRequiredService<IConfiguration>())));
        services.AddSingleton<ShipmentStore>();
        services.AddSingleton<DeliveryStatusPublisher>();
        services.AddSingleton<ShipmentUpdater>();
        services.AddSqsHandler<DeliveryProcessor>(names => names.OrderEventsQueueUrl);
        services.AddSqsHandler<CarrierSimulator>(names => names.CarrierEventsQueueUrl);
        services.AddSqsHandler<StatusUpdater>(names => names.DeliveryStatusQueueUrl);
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, DeliveryJson.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapDelivery(this IEndpointRouteBuilder app)
    {
        // Carriers authenticate with the webhook's HMAC signature, not with our OAuth tokens.
        app.MapPost(CarrierWebhook.Path, CarrierWebhook.ReceiveAsync)
            .AllowAnonymous()
            .WithTags(Platform.ApiTags.CarrierWebhook)
            .WithName("CarrierWebhook")
            .WithSummary("Shipment status events from the carrier, signed with HMAC-SHA256 over timestamp and body.")
            .Accepts<CarrierWebhookEvent>("application/json")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
