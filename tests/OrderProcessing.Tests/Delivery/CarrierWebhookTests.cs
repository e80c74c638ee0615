using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Tests.Delivery;

/// <summary>The carrier webhook against a pipeline whose shipments only the webhook moves (simulator off).</summary>
public sealed class CarrierWebhookTests(CarrierWebhookTests.WebhookOnly fixture) : IClassFixture<CarrierWebhookTests.WebhookOnly>
{
    /// <summary>The delivery pipeline with the carrier simulator off: only the webhook moves shipments.</summary>
    public sealed class WebhookOnly(CloudFixture cloud) : AppFixture(cloud, AppOptions.Pipeline with { CarrierSimulator = false });

    private AppFixture Pipeline => fixture;

    [Fact]
    public async Task Signed_carrier_events_move_the_shipment_and_the_order()
    {
        var (order, shipment) = await ShipmentAsync();

        using var shipped = await PostAsync(Event(shipment.TrackingNumber, "SHIPPED"));
        using var inTransit = await PostAsync(Event(shipment.TrackingNumber, "IN_TRANSIT"));
        using var delivered = await PostAsync(Event(shipment.TrackingNumber, "DELIVERED", "2026-11-25T10:50:00Z"));

        Assert.All([shipped, inTransit, delivered], r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var result = await delivered.Content.ReadFromJsonAsync<CarrierWebhookResult>(TestData.Json);
        Assert.Equal((shipment.ShipmentId, DeliveryStatus.Delivered, WebhookOutcome.Applied), (result!.ShipmentId, result.Status, result.Outcome));
        var stored = await Pipeline.Data.ShipmentAsync(order.OrderId);
        Assert.Equal([DeliveryStatus.Created, DeliveryStatus.Shipped, DeliveryStatus.InTransit, DeliveryStatus.Delivered], stored!.History.Select(h => h.Status));
        Assert.Equal(DateTimeOffset.Parse("2026-11-25T10:50:00Z", System.Globalization.CultureInfo.InvariantCulture), stored.History[^1].OccurredAt);
        Assert.All(stored.History.Skip(1), h => Assert.Equal(DeliverySources.CarrierWebhook, h.Source));

        var delivered2 = await Pipeline.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Delivered);
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped, OrderStatus.Delivered], delivered2.History.Select(h => h.Status));
        Assert.All(delivered2.History, h => Assert.Equal(delivered2.CorrelationId, h.CorrelationId));
        Assert.StartsWith("test-", delivered2.CorrelationId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_signature_a_missing_one_or_a_request_older_than_five_minutes_is_401_and_changes_nothing()
    {
        var (order, shipment) = await ShipmentAsync();
        var body = Event(shipment.TrackingNumber, "SHIPPED");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        using var wrongSecret = await PostAsync(body, signature: CarrierSignature.Sign("not-the-secret", now, Encoding.UTF8.GetBytes(body)));
        using var unsigned = await PostAsync(body, timestamp: null, signature: null);
        // Well outside the five-minute window, so a slow machine cannot bring them back into it; the exact boundary
        // is CarrierSignatureTests' (with a fixed clock).
        using var old = await PostAsync(body, timestamp: now - 900);
        using var future = await PostAsync(body, timestamp: now + 900);
        using var replayedWithNewTimestamp = await PostAsync(body, timestamp: now,
            signature: CarrierSignature.Sign(AppFixture.WebhookSecret, now - 600, Encoding.UTF8.GetBytes(body)));

        foreach (var response in new[] { wrongSecret, unsigned, old, future, replayedWithNewTimestamp })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("https://orderprocessing.dev/problems/invalid-signature", problem.RootElement.GetProperty("type").GetString());
        }

        Assert.Equal(DeliveryStatus.Created, (await Pipeline.Data.ShipmentAsync(order.OrderId))!.Status);
        Assert.Equal(OrderStatus.PendingShipment, (await Pipeline.Data.OrderAsync(order.OrderId))!.Status);
    }

    [Fact]
    public async Task A_repeated_event_id_is_a_200_no_op()
    {
        var (order, shipment) = await ShipmentAsync();
        var eventId = $"evt-{Guid.NewGuid():N}";

        using var first = await PostAsync(Event(shipment.TrackingNumber, "SHIPPED", eventId: eventId));
        using var again = await PostAsync(Event(shipment.TrackingNumber, "SHIPPED", eventId: eventId));
        using var sameIdOtherStatus = await PostAsync(Event(shipment.TrackingNumber, "DELIVERED", eventId: eventId));

        Assert.Equal(WebhookOutcome.Applied, (await first.Content.ReadFromJsonAsync<CarrierWebhookResult>(TestData.Json))!.Outcome);
        foreach (var repeat in new[] { again, sameIdOtherStatus })
        {
            Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
            var result = await repeat.Content.ReadFromJsonAsync<CarrierWebhookResult>(TestData.Json);
            Assert.Equal((WebhookOutcome.Duplicate, DeliveryStatus.Shipped), (result!.Outcome, result.Status));
        }

        var stored = await Pipeline.Data.ShipmentAsync(order.OrderId);
        Assert.Equal([DeliveryStatus.Created, DeliveryStatus.Shipped], stored!.History.Select(h => h.Status));
        Assert.Equal([eventId], stored.CarrierEventIds);
        var shipped = await Pipeline.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Shipped);
        await Eventually.HoldsAsync(async () => await Pipeline.Data.MessagesInAsync("DeliveryStatusQueue") == 0);
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped], (await Pipeline.Data.OrderAsync(order.OrderId))!.History.Select(h => h.Status));
        Assert.Equal(shipped.Version, (await Pipeline.Data.OrderAsync(order.OrderId))!.Version);
    }

    [Fact]
    public async Task Delivered_reported_before_shipped_ends_delivered_and_the_late_shipped_is_ignored()
    {
        var (order, shipment) = await ShipmentAsync();

        using var delivered = await PostAsync(Event(shipment.TrackingNumber, "DELIVERED"));
        using var lateShipped = await PostAsync(Event(shipment.TrackingNumber, "SHIPPED"));

        Assert.Equal(WebhookOutcome.Applied, (await delivered.Content.ReadFromJsonAsync<CarrierWebhookResult>(TestData.Json))!.Outcome);
        Assert.Equal(HttpStatusCode.OK, lateShipped.StatusCode);
        var late = await lateShipped.Content.ReadFromJsonAsync<CarrierWebhookResult>(TestData.Json);
        Assert.Equal((WebhookOutcome.Ignored, DeliveryStatus.Delivered), (late!.Outcome, late.Status));
        var final = await Pipeline.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Delivered);
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Delivered], final.History.Select(h => h.Status));
        Assert.Equal([DeliveryStatus.Created, DeliveryStatus.Delivered], (await Pipeline.Data.ShipmentAsync(order.OrderId))!.History.Select(h => h.Status));
    }

    [Fact]
    public async Task In_transit_reported_without_the_pick_up_scan_moves_the_order_to_shipped()
    {
        var (order, shipment) = await ShipmentAsync();

        // The carrier missed the pick-up scan: IN_TRANSIT is the first the order hears of the parcel moving.
        using var inTransit = await PostAsync(Event(shipment.TrackingNumber, "IN_TRANSIT"));

        Assert.Equal(WebhookOutcome.Applied, (await inTransit.Content.ReadFromJsonAsync<CarrierWebhookResult>(TestData.Json))!.Outcome);
        var shipped = await Pipeline.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Shipped);
        Assert.Equal([(OrderStatus.PendingShipment, "orders-api"), (OrderStatus.Shipped, DeliverySources.CarrierWebhook)],
            shipped.History.Select(h => (h.Status, h.Source)));
        Assert.Equal([DeliveryStatus.Created, DeliveryStatus.InTransit], (await Pipeline.Data.ShipmentAsync(order.OrderId))!.History.Select(h => h.Status));
    }

    [Fact]
    public async Task An_unknown_tracking_number_is_404()
    {
        using var response = await PostAsync(Event("OPNOSUCHPARCEL2345", "SHIPPED"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("https://orderprocessing.dev/problems/shipment-not-found", problem.RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_signed_event_that_is_not_valid_is_400_listing_every_problem()
    {
        using var response = await PostAsync("""{"trackingNumber":"","status":"LOST","occurredAt":"soon","eventId":"has space"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var errors = problem.RootElement.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToHashSet();
        Assert.Equal(new HashSet<string> { "trackingNumber", "status", "occurredAt", "eventId" }, errors);
    }

    private async Task<(Order Order, Shipment Shipment)> ShipmentAsync()
    {
        var order = await Pipeline.PlaceOrderAsync();
        return (order, await Pipeline.Data.WaitForShipmentAsync(order.OrderId));
    }

    private static string Event(string trackingNumber, string status, string? occurredAt = null, string? eventId = null) =>
        JsonSerializer.Serialize(new
        {
            trackingNumber,
            status,
            occurredAt = occurredAt ?? DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            eventId = eventId ?? $"evt-{Guid.NewGuid():N}",
        });

    /// <summary>Posts a webhook body signed with the pipeline's secret at the given time (now when not given).</summary>
    private async Task<HttpResponseMessage> PostAsync(string body, long? timestamp = -1, string? signature = "")
    {
        var at = timestamp == -1 ? DateTimeOffset.UtcNow.ToUnixTimeSeconds() : timestamp;
        using var client = Pipeline.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(CarrierWebhook.Path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (at is { } seconds)
        {
            request.Headers.Add(CarrierSignature.TimestampHeader, seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var header = signature == "" && at is { } signedAt ? CarrierSignature.Sign(AppFixture.WebhookSecret, signedAt, Encoding.UTF8.GetBytes(body)) : signature;
        if (header is not null)
        {
            request.Headers.Add(CarrierSignature.SignatureHeader, header);
        }

        return await client.SendAsync(request);
    }
}
