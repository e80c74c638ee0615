using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;
using static OrderProcessing.Functions.Platform.DynamoItem;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// The Shipments table: one item per shipment (HASH shipmentId, derived from the order id) with its status history
/// and the carrier event ids already applied; GSI <c>by-tracking-number</c> finds the shipment a carrier reports on.
/// Every change is a conditional write on <c>version</c>.
/// </summary>
public sealed class ShipmentStore(IAmazonDynamoDB dynamo, ResourceNames names)
{
    public const string ByTrackingNumberIndex = "by-tracking-number";

    public string Table => names.ShipmentsTable;

    public static Dictionary<string, AttributeValue> Key(string shipmentId) => new() { ["shipmentId"] = S(shipmentId) };

    /// <summary>Writes a new shipment unless one with its id exists; returns the stored one and whether it is new.</summary>
    public async Task<(Shipment Shipment, bool Created)> CreateAsync(Shipment shipment, CancellationToken cancellationToken)
    {
        try
        {
            await dynamo.PutItemAsync(new PutItemRequest
            {
                TableName = Table,
                Item = ToItem(shipment),
                ConditionExpression = "attribute_not_exists(shipmentId)",
                ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
            }, cancellationToken);
            return (shipment, true);
        }
        catch (ConditionalCheckFailedException e)
        {
            var existing = e.Item is { Count: > 0 } item ? FromItem(item) : await GetAsync(shipment.ShipmentId, cancellationToken);
            return (existing ?? throw new InvalidOperationException($"Shipment {shipment.ShipmentId} exists and cannot be read."), false);
        }
    }

    public async Task<Shipment?> GetAsync(string shipmentId, CancellationToken cancellationToken)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest { TableName = Table, Key = Key(shipmentId), ConsistentRead = true },
            cancellationToken);
        return response.Item is { Count: > 0 } item ? FromItem(item) : null;
    }

    /// <summary>
    /// The shipment a tracking number names. The index is eventually consistent, so the item is read again by
    /// key for its current state.
    /// </summary>
    public async Task<Shipment?> FindByTrackingNumberAsync(string trackingNumber, CancellationToken cancellationToken)
    {
        var response = await dynamo.QueryAsync(new QueryRequest
        {
            TableName = Table,
            IndexName = ByTrackingNumberIndex,
            KeyConditionExpression = "trackingNumber = :t",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":t"] = S(trackingNumber) },
            ProjectionExpression = "shipmentId",
            Limit = 2,
        }, cancellationToken);
        var ids = (response.Items ?? []).Select(i => i.Text("shipmentId")).Distinct(StringComparer.Ordinal).ToList();
        return ids.Count switch
        {
            0 => null,
            1 => await GetAsync(ids[0], cancellationToken),
            _ => throw new InvalidDataException($"Tracking number {trackingNumber} names {ids.Count} shipments."),
        };
    }

    /// <summary>
    /// Writes a status change (and the carrier event id that caused it) if the shipment is still at the version
    /// it was read at; null when it changed meanwhile, so the caller reads again and decides again.
    /// </summary>
    public async Task<Shipment?> TryApplyAsync(Shipment current, ShipmentChange change, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, AttributeValue>
        {
            [":status"] = S(change.Status.ToWire()),
            [":updatedAt"] = Time(change.RecordedAt),
            [":one"] = N(1),
            [":version"] = N(current.Version),
            [":entry"] = new() { L = [HistoryItem(change)] },
        };
        var update = "SET #status = :status, updatedAt = :updatedAt, version = version + :one, history = list_append(history, :entry)";
        if (change.CarrierEventId is { } eventId)
        {
            update += " ADD carrierEventIds :eventIds";
            values[":eventIds"] = new AttributeValue { SS = [eventId] };
        }

        try
        {
            var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = Table,
                Key = Key(current.ShipmentId),
                UpdateExpression = update,
                ConditionExpression = "version = :version",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#status"] = "status" },
                ExpressionAttributeValues = values,
                ReturnValues = ReturnValue.ALL_NEW,
            }, cancellationToken);
            return FromItem(response.Attributes);
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    public static Dictionary<string, AttributeValue> ToItem(Shipment shipment)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            ["shipmentId"] = S(shipment.ShipmentId),
            ["orderId"] = S(shipment.OrderId),
            ["carrier"] = S(shipment.Carrier),
            ["trackingNumber"] = S(shipment.TrackingNumber),
            ["status"] = S(shipment.Status.ToWire()),
            ["createdAt"] = Time(shipment.CreatedAt),
            ["updatedAt"] = Time(shipment.UpdatedAt),
            ["version"] = N(shipment.Version),
            ["correlationId"] = S(shipment.CorrelationId),
            ["history"] = new AttributeValue { L = shipment.History.Select(HistoryItem).ToList() },
        };
        if (shipment.CarrierEventIds.Count > 0)
        {
            item["carrierEventIds"] = new AttributeValue { SS = [.. shipment.CarrierEventIds] };
        }

        return item;
    }

    public static Shipment FromItem(Dictionary<string, AttributeValue> item) =>
        new(
            item.Text("shipmentId"),
            item.Text("orderId"),
            item.Text("carrier"),
            item.Text("trackingNumber"),
            ShipmentStatusRules.Parse(item.Text("status")),
            item.Time("createdAt"),
            item.Time("updatedAt"),
            item.WholeNumber("version"),
            item.OptionalText("correlationId") ?? "",
            item.List("history").Select(v => v.M).Select(entry => new ShipmentChange(
                ShipmentStatusRules.Parse(entry.Text("status")),
                entry.OptionalText("previousStatus") is { } previous ? ShipmentStatusRules.Parse(previous) : null,
                entry.Time("occurredAt"),
                entry.Time("recordedAt"),
                entry.Text("source"),
                entry.OptionalText("carrierEventId"))).ToList())
        {
            CarrierEventIds = item.TryGetValue("carrierEventIds", out var ids) && ids.SS is { } set
                ? set.ToHashSet(StringComparer.Ordinal)
                : new HashSet<string>(StringComparer.Ordinal),
        };

    private static AttributeValue HistoryItem(ShipmentChange change)
    {
        var entry = new Dictionary<string, AttributeValue>
        {
            ["status"] = S(change.Status.ToWire()),
            ["occurredAt"] = Time(change.OccurredAt),
            ["recordedAt"] = Time(change.RecordedAt),
            ["source"] = S(change.Source),
        };
        if (change.PreviousStatus is { } previous)
        {
            entry["previousStatus"] = S(previous.ToWire());
        }

        if (change.CarrierEventId is { } eventId)
        {
            entry["carrierEventId"] = S(eventId);
        }

        return new AttributeValue { M = entry };
    }
}
