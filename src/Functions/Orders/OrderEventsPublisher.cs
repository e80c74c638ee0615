using System.Diagnostics;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Orders;

/// <summary>
/// The outbox relay: the Orders table's stream is the outbox (an order and its change are one write), and this
/// handler publishes to order-events.fifo the changes the delivery pipeline acts on (<see cref="OrderEvent.For"/>:
/// an order placed, an order cancelled). Records are sent in stream order, at most one change of an
/// order per SendMessageBatch so a queue-side failure cannot reorder an order's events; once a record of an
/// order fails, the later records of that order are not sent and are reported too. Lambda retries from the
/// lowest failed sequence number, and the queue drops what it already has by deduplication id.
/// Changes made through the API (an order placed, an order cancelled) are announced to the
/// <see cref="IOrderStatusObserver"/> here, before their event is sent, so that PENDING_SHIPMENT is always
/// announced before what the delivery pipeline does next (<see cref="OrderTransitions"/> announces those).
/// </summary>
public sealed class OrderEventsPublisher(
    IAmazonSQS sqs,
    ResourceNames names,
    IOrderStatusObserver observer,
    ILogger<OrderEventsPublisher> logger)
    : IDynamoDbStreamHandler
{
    private const int SendBatchLimit = 10;

    public async Task<BatchResponse> HandleAsync(DynamoDbStreamEvent streamEvent, CancellationToken cancellationToken)
    {
        var failed = new List<string>();
        var failedOrders = new HashSet<string>(StringComparer.Ordinal);
        var batch = new List<(string SequenceNumber, OrderEvent Event, ActivityContext Trace)>();

        async Task FlushAsync()
        {
            if (batch.Count > 0)
            {
                foreach (var (sequenceNumber, orderEvent, _) in await SendAsync(batch, cancellationToken))
                {
                    failed.Add(sequenceNumber);
                    failedOrders.Add(orderEvent.OrderId);
                }

                batch.Clear();
            }
        }

        foreach (var record in streamEvent.Records)
        {
            var sequenceNumber = record.Dynamodb?.SequenceNumber ?? record.EventId ?? "";
            // The order keeps the trace of the write that changed it: the stream hop continues that trace.
            using var activity = Tracing.StartConsumer($"process {EventSourceNames.TableNameFromStreamArn(record.EventSourceArn) ?? "stream"}",
                Tracing.ParseTraceParent(record.Dynamodb?.NewImage?.GetValueOrDefault("traceparent")?.S),
                TraceTags.Consumer("aws_dynamodb_streams", record.EventSourceArn ?? "", sequenceNumber));
            // Each record is logged under the correlation id of the change it carries, not the invocation's.
            using var scope = logger.BeginScope(CorrelationScope(record.Dynamodb?.NewImage?.GetValueOrDefault("correlationId")?.S));
            OrderEvent? orderEvent;
            try
            {
                orderEvent = ToEvent(record);
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or KeyNotFoundException)
            {
                logger.RecordNotAnOrder(e, sequenceNumber);
                failed.Add(sequenceNumber);
                continue;
            }

            if (orderEvent is null)
            {
                continue;
            }

            if (failedOrders.Contains(orderEvent.OrderId))
            {
                failed.Add(sequenceNumber);
                continue;
            }

            if (batch.Count == SendBatchLimit || batch.Any(b => b.Event.OrderId == orderEvent.OrderId))
            {
                await FlushAsync();
                if (failedOrders.Contains(orderEvent.OrderId))
                {
                    failed.Add(sequenceNumber);
                    continue;
                }
            }

            // Both events stand for changes made through the API, which are announced here (the pipeline's own by OrderTransitions).
            await observer.OnStatusChangedAsync(new OrderStatusChange(orderEvent.OrderId, orderEvent.Owner, orderEvent.Status,
                orderEvent.PreviousStatus, orderEvent.Version, orderEvent.OccurredAt, orderEvent.CorrelationId), cancellationToken);

            batch.Add((sequenceNumber, orderEvent, activity.Context));
        }

        await FlushAsync();
        return BatchResponse.Failed(failed);
    }

    private static Dictionary<string, object> CorrelationScope(string? correlationId) =>
        Correlation.IsAcceptable(correlationId) ? new() { [Correlation.ItemKey] = correlationId! } : [];

    /// <summary>The event a stream record stands for, or null when it stands for none (a removal, a change the queue does not carry).</summary>
    public static OrderEvent? ToEvent(DynamoDbStreamRecord record)
    {
        var images = record.Dynamodb ?? throw new InvalidDataException("The record has no dynamodb section.");
        return record.EventName switch
        {
            "INSERT" => OrderEvent.For(null, Image(images.NewImage)),
            "MODIFY" => OrderEvent.For(Image(images.OldImage), Image(images.NewImage)),
            _ => null,
        };
    }

    private static Order Image(Dictionary<string, StreamAttributeValue>? image) =>
        image is null
            ? throw new InvalidDataException("The record lacks an image; the stream must be NEW_AND_OLD_IMAGES.")
            : OrderStore.FromItem(StreamAttributeValue.ToItem(image));

    /// <summary>Sends one batch; returns the entries that were not accepted.</summary>
    private async Task<List<(string SequenceNumber, OrderEvent Event, ActivityContext Trace)>> SendAsync(
        List<(string SequenceNumber, OrderEvent Event, ActivityContext Trace)> batch, CancellationToken cancellationToken)
    {
        var entries = batch.Select((b, i) => new SendMessageBatchRequestEntry
        {
            Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            MessageBody = JsonSerializer.Serialize(b.Event, OrdersJson.Default.OrderEvent),
            MessageGroupId = b.Event.OrderId,
            MessageDeduplicationId = b.Event.DeduplicationId,
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                [OrderEvent.CorrelationAttribute] = new() { DataType = "String", StringValue = b.Event.CorrelationId.Length > 0 ? b.Event.CorrelationId : "none" },
                [OrderEvent.TypeAttribute] = new() { DataType = "String", StringValue = b.Event.Type },
            },
            MessageSystemAttributes = [],
        }).ToList();
        foreach (var (entry, (_, _, trace)) in entries.Zip(batch))
        {
            Tracing.Stamp(entry.MessageAttributes, entry.MessageSystemAttributes, trace);
        }

        try
        {
            var response = await sqs.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = names.OrderEventsQueueUrl, Entries = entries },
                cancellationToken);
            var failed = (response.Failed ?? []).Select(f => int.Parse(f.Id, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
            foreach (var failure in response.Failed ?? [])
            {
                logger.EventRejected(batch[int.Parse(failure.Id, System.Globalization.CultureInfo.InvariantCulture)].Event.DeduplicationId,
                    failure.Code, failure.Message);
            }

            foreach (var (_, sent, _) in batch.Where((_, i) => !failed.Contains(i)))
            {
                using var scope = logger.BeginScope(CorrelationScope(sent.CorrelationId));
                logger.EventPublished(sent.Type, sent.OrderId, sent.Version);
            }

            return batch.Where((_, i) => failed.Contains(i)).ToList();
        }
        catch (Exception e) when (e is AmazonSQSException || Problems.IsUnavailable(e))
        {
            logger.SendFailed(e, batch.Count);
            return batch;
        }
    }
}
