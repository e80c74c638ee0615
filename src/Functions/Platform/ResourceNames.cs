namespace OrderProcessing.Functions.Platform;

/// <summary>
/// Names of the tables and queues the app uses, read from the environment variables that template.yaml sets
/// (ORDERS_TABLE, ORDER_EVENTS_QUEUE_URL, ...). A function only gets the variables of what it may touch,
/// so every entry is optional; a capability asks for what it needs through <see cref="Require"/>.
/// </summary>
public sealed class ResourceNames(IConfiguration configuration)
{
    /// <summary>Environment variable → table name, for every table the app knows.</summary>
    public static readonly IReadOnlyList<string> TableVariables =
    [
        "ORDERS_TABLE", "PRODUCTS_TABLE", "SHIPMENTS_TABLE", "CONNECTIONS_TABLE",
        "IDEMPOTENCY_TABLE", "CLIENTS_TABLE", "TOKENS_TABLE", "RATE_LIMITS_TABLE",
    ];

    /// <summary>Environment variable → queue URL, for every queue the app sends to.</summary>
    public static readonly IReadOnlyList<string> QueueVariables =
    [
        "ORDER_EVENTS_QUEUE_URL", "DELIVERY_STATUS_QUEUE_URL", "CARRIER_EVENTS_QUEUE_URL",
    ];

    public string OrdersTable => Require("ORDERS_TABLE");
    public string ProductsTable => Require("PRODUCTS_TABLE");
    public string ShipmentsTable => Require("SHIPMENTS_TABLE");
    public string ConnectionsTable => Require("CONNECTIONS_TABLE");
    public string IdempotencyTable => Require("IDEMPOTENCY_TABLE");
    public string ClientsTable => Require("CLIENTS_TABLE");
    public string TokensTable => Require("TOKENS_TABLE");
    public string RateLimitsTable => Require("RATE_LIMITS_TABLE");
    public string OrderEventsQueueUrl => Require("ORDER_EVENTS_QUEUE_URL");
    public string DeliveryStatusQueueUrl => Require("DELIVERY_STATUS_QUEUE_URL");
    public string CarrierEventsQueueUrl => Require("CARRIER_EVENTS_QUEUE_URL");

    /// <summary>The configured tables, keyed by their variable.</summary>
    public IEnumerable<KeyValuePair<string, string>> ConfiguredTables => Configured(TableVariables);

    /// <summary>The configured queues, keyed by their variable.</summary>
    public IEnumerable<KeyValuePair<string, string>> ConfiguredQueues => Configured(QueueVariables);

    public string Require(string variable) =>
        configuration[variable] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{variable} is not set: template.yaml must give this function the variable, or the local host must provision it.");

    private IEnumerable<KeyValuePair<string, string>> Configured(IEnumerable<string> variables) =>
        variables
            .Select(v => KeyValuePair.Create(v, configuration[v] ?? ""))
            .Where(p => p.Value.Length > 0);
}
