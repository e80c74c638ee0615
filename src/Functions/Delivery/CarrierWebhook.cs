using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Delivery;

/// <summary>Body of POST /carrier/webhook: one status event of one parcel. Fields carriers add are ignored.</summary>
public sealed record CarrierWebhookEvent(string? TrackingNumber, string? Status, string? OccurredAt, string? EventId);

/// <summary>What the webhook did with an event.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WebhookOutcome>))]
public enum WebhookOutcome
{
    /// <summary>The shipment moved to the reported status.</summary>
    [JsonStringEnumMemberName("applied")]
    Applied,

    /// <summary>This event id was applied before; nothing changed.</summary>
    [JsonStringEnumMemberName("duplicate")]
    Duplicate,

    /// <summary>The shipment is in that status already, or past it; nothing changed.</summary>
    [JsonStringEnumMemberName("ignored")]
    Ignored,
}

/// <summary>Answer of POST /carrier/webhook.</summary>
public sealed record CarrierWebhookResult(string ShipmentId, string TrackingNumber, DeliveryStatus Status, WebhookOutcome Outcome);

/// <summary>
/// POST /carrier/webhook: status events from a real carrier. Authenticated by an HMAC-SHA256 signature over
/// timestamp and body with the shared secret CARRIER_WEBHOOK_SECRET (see <see cref="CarrierSignature"/>), not by
/// OAuth: 401 for a missing, bad or expired signature, 400 for an event that is not valid, 404 for an unknown
/// tracking number, and 200 for everything else, including a repeated or out-of-date event, which changes nothing.
/// </summary>
public static class CarrierWebhook
{
    public const string Path = "/carrier/webhook";
    public const int MaxBodyBytes = 16 * 1024;
    private const int MaxIdLength = 128;

    private static readonly DeliveryStatus[] ReportableStatuses =
        [DeliveryStatus.Shipped, DeliveryStatus.InTransit, DeliveryStatus.Delivered, DeliveryStatus.Failed];

    public static async Task<Results<Ok<CarrierWebhookResult>, ValidationProblem, ProblemHttpResult>> ReceiveAsync(
        HttpRequest request, ShipmentStore shipments, ShipmentTransitions shipmentTransitions, IOptions<CarrierOptions> options, TimeProvider clock,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(typeof(CarrierWebhook));
        if (await ReadBodyAsync(request, cancellationToken) is not { } body)
        {
            return Problems.Problem(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "The event is too large.",
                $"A carrier event is at most {MaxBodyBytes} bytes.");
        }

        var check = CarrierSignature.Verify(options.Value.WebhookSecret, request.Headers[CarrierSignature.TimestampHeader],
            request.Headers[CarrierSignature.SignatureHeader], body, clock.GetUtcNow());
        if (check != SignatureCheck.Valid)
        {
            if (check == SignatureCheck.NotConfigured)
            {
                logger.WebhookSecretMissing();
            }
            else
            {
                logger.WebhookRefused(check);
            }

            return Problems.Problem(StatusCodes.Status401Unauthorized, "invalid-signature", "The request is not signed by the carrier.",
                $"Send {CarrierSignature.TimestampHeader} (unix seconds, within {CarrierSignature.Window.TotalMinutes:0} minutes of now) and "
                + $"{CarrierSignature.SignatureHeader}: sha256=<hex HMAC-SHA256 of timestamp + \".\" + body with the shared secret>.");
        }

        CarrierWebhookEvent? carrierEvent;
        try
        {
            carrierEvent = JsonSerializer.Deserialize(body, DeliveryJson.Default.CarrierWebhookEvent);
        }
        catch (JsonException)
        {
            carrierEvent = null;
        }

        if (carrierEvent is null)
        {
            return ValidationProblems.From("body", "A JSON object with trackingNumber, status, occurredAt and eventId.");
        }

        var validation = new RequestValidation();
        validation.Required("trackingNumber", carrierEvent.TrackingNumber, MaxIdLength);
        validation.Required("eventId", carrierEvent.EventId, MaxIdLength);
        if (carrierEvent.EventId is { } id && !Correlation.IsAcceptable(id))
        {
            validation.Add("eventId", "Printable ASCII without spaces.");
        }

        if (!ShipmentStatusRules.TryParse(carrierEvent.Status, out var status) || !ReportableStatuses.Contains(status))
        {
            validation.Add("status", $"One of {string.Join(", ", ReportableStatuses.Select(s => s.ToWire()))}.");
        }

        if (!DateTimeOffset.TryParse(carrierEvent.OccurredAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var occurredAt))
        {
            validation.Add("occurredAt", "An ISO 8601 date and time, such as 2026-11-25T09:30:00Z.");
        }

        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var shipment = await shipments.FindByTrackingNumberAsync(carrierEvent.TrackingNumber!, cancellationToken);
        if (shipment is null)
        {
            logger.UnknownTrackingNumber(carrierEvent.TrackingNumber!, carrierEvent.EventId!);
            return Problems.Problem(StatusCodes.Status404NotFound, "shipment-not-found", "No shipment has this tracking number.",
                $"Tracking number {carrierEvent.TrackingNumber} is not one of ours.");
        }

        using var scope = logger.BeginScope(new Dictionary<string, object> { [Correlation.ItemKey] = shipment.CorrelationId });
        var result = await shipmentTransitions.ApplyAsync(shipment, status, occurredAt, DeliverySources.CarrierWebhook, carrierEvent.EventId, cancellationToken);
        var outcome = result.Outcome switch
        {
            ShipmentTransitionOutcome.Applied => WebhookOutcome.Applied,
            ShipmentTransitionOutcome.Duplicate => WebhookOutcome.Duplicate,
            _ => WebhookOutcome.Ignored,
        };
        return TypedResults.Ok(new CarrierWebhookResult(result.Shipment.ShipmentId, result.Shipment.TrackingNumber, result.Shipment.Status, outcome));
    }

    /// <summary>The raw body, exactly as signed; null when it is larger than a carrier event can be.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
