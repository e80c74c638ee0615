using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// One scheduled step of the simulated carrier, on the carrier-events queue:
/// <c>{"shipmentId": "shp-...", "orderId": "...", "status": "SHIPPED"}</c>, delivered after the step's delay
/// (SQS DelaySeconds), with the <c>correlation_id</c> message attribute.
/// </summary>
public sealed record CarrierStep(string ShipmentId, string OrderId, DeliveryStatus Status);

/// <summary>
/// The simulated carrier, for local runs and demos (template parameter EnableCarrierSimulator): each step
/// is a delayed message on the standard carrier-events queue. Handling a step moves the shipment forward
/// (CREATED → SHIPPED → IN_TRANSIT → DELIVERED, or FAILED for CARRIER_FAILURE_PERCENT of shipments) and
/// schedules the next one. A repeated step finds its status already reached: it publishes and schedules again,
/// which is harmless (every step is a conditional change), so a failure between the write and the scheduling
/// cannot stall a shipment. A step that finds the shipment past it (cancelled, or moved on by the webhook) stops.
/// </summary>
public sealed class CarrierSimulator(
    IAmazonSQS sqs,
    ResourceNames names,
    ShipmentStore shipments,
    ShipmentTransitions shipmentTransitions,
    IOptions<CarrierOptions> options,
    TimeProvider clock,
    QueueRetry retry,
    ILogger<CarrierSimulator> logger) : ISqsHandler
{
    public Task<BatchResponse> HandleAsync(SqsEvent sqsEvent, CancellationToken cancellationToken) =>
        SqsBatch.ProcessAsync(sqsEvent, retry, logger, HandleStepAsync, cancellationToken);

    /// <summary>Hands a new shipment to the simulated carrier: its pick-up, after the pick-up delay.</summary>
    public Task ScheduleFirstStepAsync(Shipment shipment, CancellationToken cancellationToken) =>
        ScheduleAsync(new CarrierStep(shipment.ShipmentId, shipment.OrderId, DeliveryStatus.Shipped), options.Value.PickupDelaySeconds,
            shipment.CorrelationId, cancellationToken);

    /// <summary>The step after <paramref name="status"/> for this shipment, or null at the end of its journey.</summary>
    public static DeliveryStatus? NextStatus(string shipmentId, DeliveryStatus status, int failurePercent) => status switch
    {
        DeliveryStatus.Shipped => DeliveryStatus.InTransit,
        DeliveryStatus.InTransit => FailureRoll(shipmentId) < failurePercent ? DeliveryStatus.Failed : DeliveryStatus.Delivered,
        _ => null,
    };

    private async Task HandleStepAsync(SqsMessage message, string correlationId, CancellationToken cancellationToken)
    {
        CarrierStep step;
        try
        {
            step = JsonSerializer.Deserialize(message.Body, DeliveryJson.Default.CarrierStep)
                ?? throw new PoisonMessageException("The body is null.");
        }
        catch (JsonException e)
        {
            throw new PoisonMessageException($"The body is not a carrier step: {e.Message}", e);
        }

        if (string.IsNullOrEmpty(step.ShipmentId))
        {
            throw new PoisonMessageException("The carrier step names no shipment.");
        }

        var shipment = await shipments.GetAsync(step.ShipmentId, cancellationToken)
            ?? throw new PoisonMessageException($"Shipment {step.ShipmentId} does not exist.");
        var result = await shipmentTransitions.ApplyAsync(shipment, step.Status, clock.GetUtcNow(), DeliverySources.CarrierSimulator, null, cancellationToken);
        if (result.Outcome is not (ShipmentTransitionOutcome.Applied or ShipmentTransitionOutcome.AlreadyInStatus))
        {
            return;
        }

        var settings = options.Value;
        if (NextStatus(shipment.ShipmentId, step.Status, settings.FailurePercent) is { } next)
        {
            var delay = next == DeliveryStatus.InTransit ? settings.TransitDelaySeconds : settings.DeliveryDelaySeconds;
            await ScheduleAsync(step with { Status = next }, delay, result.Shipment.CorrelationId, cancellationToken);
        }
    }

    private async Task ScheduleAsync(CarrierStep step, int delaySeconds, string correlationId, CancellationToken cancellationToken)
    {
        var request = new SendMessageRequest
        {
            QueueUrl = names.CarrierEventsQueueUrl,
            MessageBody = JsonSerializer.Serialize(step, DeliveryJson.Default.CarrierStep),
            DelaySeconds = Math.Clamp(delaySeconds, 0, CarrierOptions.MaxDelaySeconds),
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                [SqsBatch.CorrelationAttribute] = new() { DataType = "String", StringValue = correlationId.Length > 0 ? correlationId : "none" },
            },
            MessageSystemAttributes = [],
        };
        Tracing.Stamp(request.MessageAttributes, request.MessageSystemAttributes);
        await sqs.SendMessageAsync(request, cancellationToken);
        logger.StepScheduled(step.ShipmentId, step.Status, delaySeconds);
    }

    /// <summary>A number from 0 to 99 fixed per shipment, so a repeated step decides the same way.</summary>
    private static int FailureRoll(string shipmentId) =>
        (int)(BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(shipmentId)), 0) % 100);
}
