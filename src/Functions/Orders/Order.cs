using System.Text.Json;
using System.Text.Json.Serialization;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Functions.Orders;

/// <summary>
/// An order as stored and as answered. Its id is a UUIDv7 (time-sortable), its lines carry the catalogue
/// prices at the time it was placed, <c>version</c> grows by one with every change, and <c>history</c> holds
/// every status change (written in the same conditional update as the change itself).
/// </summary>
public sealed record Order(
    string OrderId,
    OrderStatus Status,
    IReadOnlyList<OrderLine> Items,
    string Currency,
    decimal Total,
    ShippingAddress ShippingAddress,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CustomerReference,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Version)
{
    /// <summary>The client that placed the order (the token subject); never shown, only compared.</summary>
    [JsonIgnore]
    public string Owner { get; init; } = "";

    /// <summary>Correlation id of the last change, copied by the stream publisher into the order event.</summary>
    [JsonIgnore]
    public string CorrelationId { get; init; } = "";

    /// <summary>W3C traceparent of the last change, so that the stream publisher continues the trace that changed the order.</summary>
    [JsonIgnore]
    public string? TraceParent { get; init; }

    [JsonIgnore]
    public IReadOnlyList<StatusChange> History { get; init; } = [];

    /// <summary>
    /// The version whose announcement claim was given back (its push failed), so that a repeat of the change
    /// announces it again; null otherwise. A status written by the delivery pipeline claims its announcement with the
    /// write itself (<see cref="OrderStatusChange.AnnouncementClaimed"/>), which needs no attribute of its own.
    /// </summary>
    [JsonIgnore]
    public long? AnnouncementReleased { get; init; }
}

/// <summary>One line of an order, priced from the catalogue when the order was placed.</summary>
public sealed record OrderLine(string ProductId, string Name, int Quantity, decimal UnitPrice, decimal LineTotal)
{
    /// <summary>Which stock shards the quantity was taken from, so that a cancellation returns it there.</summary>
    [JsonIgnore]
    public IReadOnlyList<ShardTake> Taken { get; init; } = [new ShardTake(0, Quantity)];
}

/// <summary>Where an order goes.</summary>
public sealed record ShippingAddress(
    string Name,
    string Line1,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Line2,
    string City,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Region,
    string PostalCode,
    string Country);

/// <summary>One status change: what, when, which component made it, under which correlation id.</summary>
public sealed record StatusChange(
    OrderStatus Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OrderStatus? PreviousStatus,
    DateTimeOffset At,
    string Source,
    string CorrelationId);

/// <summary>Body of GET /orders/{id}/history.</summary>
public sealed record OrderHistory(string OrderId, OrderStatus Status, IReadOnlyList<StatusChange> History);

/// <summary>A page of the caller's orders, newest first; pass <c>nextCursor</c> as <c>?cursor=</c> for the next.</summary>
public sealed record OrderPage(IReadOnlyList<Order> Items, string? NextCursor);

/// <summary>Body of POST /orders.</summary>
public sealed record CreateOrderRequest
{
    public IReadOnlyList<RequestedItem>? Items { get; init; }

    public AddressRequest? ShippingAddress { get; init; }

    public string? CustomerReference { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>The shipping address as sent; checked, then stored as a <see cref="Orders.ShippingAddress"/>.</summary>
public sealed record AddressRequest
{
    public string? Name { get; init; }

    public string? Line1 { get; init; }

    public string? Line2 { get; init; }

    public string? City { get; init; }

    public string? Region { get; init; }

    public string? PostalCode { get; init; }

    public string? Country { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>The checks of POST /orders that need nothing but the request.</summary>
public static class OrderRequestRules
{
    public const int MaxCustomerReferenceLength = 100;

    public static RequestValidation Validate(CreateOrderRequest request)
    {
        var validation = new RequestValidation();
        validation.RejectUnknown("", request.Unknown);
        Availability.Validate(validation, request.Items);
        validation.Bounded("customerReference", request.CustomerReference, MaxCustomerReferenceLength);

        var address = request.ShippingAddress;
        if (address is null)
        {
            validation.Add("shippingAddress", "Required.");
            return validation;
        }

        validation.RejectUnknown("shippingAddress", address.Unknown);
        validation.Required("shippingAddress.name", address.Name, 100);
        validation.Required("shippingAddress.line1", address.Line1, 200);
        validation.Bounded("shippingAddress.line2", address.Line2, 200);
        validation.Required("shippingAddress.city", address.City, 100);
        validation.Bounded("shippingAddress.region", address.Region, 100);
        validation.Required("shippingAddress.postalCode", address.PostalCode, 20);
        if (!Countries.IsAssigned(address.Country))
        {
            validation.Add("shippingAddress.country", "An assigned ISO 3166-1 alpha-2 code in capitals, such as DE or US.");
        }

        return validation;
    }

    /// <summary>The address as stored: trimmed, blank optional lines dropped.</summary>
    public static ShippingAddress ToAddress(AddressRequest a) => new(
        a.Name!.Trim(), a.Line1!.Trim(), Blank(a.Line2), a.City!.Trim(), Blank(a.Region), a.PostalCode!.Trim(), a.Country!);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
