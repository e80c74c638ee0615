using System.Security.Cryptography;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// One order's shipment. Its id follows from the order id, so creating it is one conditional put that a
/// repeated or concurrent OrderCreated cannot double. <c>version</c> grows with every change; <c>history</c>
/// holds every status change with the event that caused it.
/// </summary>
public sealed record Shipment(
    string ShipmentId,
    string OrderId,
    string Carrier,
    string TrackingNumber,
    DeliveryStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Version,
    string CorrelationId,
    IReadOnlyList<ShipmentChange> History)
{
    /// <summary>Carrier event ids already applied; a webhook event whose id is here is a repeat.</summary>
    public IReadOnlySet<string> CarrierEventIds { get; init; } = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>
/// One status change of a shipment: when the carrier says it happened, when we recorded it, who reported it,
/// and the id of the event published for it (also the carrier's event id when a webhook reported it).
/// </summary>
public sealed record ShipmentChange(
    DeliveryStatus Status,
    DeliveryStatus? PreviousStatus,
    DateTimeOffset OccurredAt,
    DateTimeOffset RecordedAt,
    string Source,
    string? CarrierEventId);

/// <summary>Who moves shipments, as written in histories and status events.</summary>
public static class DeliverySources
{
    public const string DeliveryProcessor = "delivery-processor";
    public const string CarrierSimulator = "carrier-simulator";
    public const string CarrierWebhook = "carrier-webhook";
}

/// <summary>Identifiers of shipments.</summary>
public static class ShipmentIds
{
    private const string TrackingAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    /// <summary>The one shipment of an order: derived, so that every delivery of OrderCreated names the same item.</summary>
    public static string For(string orderId) => $"shp-{orderId}";

    /// <summary>A tracking number customers can read out: carrier prefix and 16 random characters without look-alikes.</summary>
    public static string NewTrackingNumber() => "OP" + RandomNumberGenerator.GetString(TrackingAlphabet, 16);

    /// <summary>The id of the event that moved a shipment to a status: a shipment reaches each status once at most.</summary>
    public static string StatusEventId(string shipmentId, DeliveryStatus status) => $"{shipmentId}:{status.ToWire()}";
}
