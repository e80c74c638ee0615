namespace OrderProcessing.Functions.Platform;

/// <summary>
/// Names of the tables and queues the app uses, read from the environment variables that template.yaml sets
/// (ORDERS_TABLE, ORDER_EVENTS_QUEUE_URL, ...). A function only gets the variables of what it may touch,
/// so every entry is optional; a capability asks for what it needs through <see cref="Require"/>.
/// </summary>
public sealed class ResourceNames(IConfiguration configuration)
{
    public const string OrdersTableVariable = "ORDERS_TABLE";
    public const string ProductsTableVariable = "PRODUCTS_TABLE";
    public const string ShipmentsTableVariable = "SHIPMENTS_TABLE";
    public const string ConnectionsTableVariable = "CONNECTIONS_TABLE";
    public const string IdempotencyTableVariable = "IDEMPOTENCY_TABLE";
    public const string ClientsTableVariable = "CLIENTS_TABLE";
    public const string TokensTableVariable = "TOKENS_TABLE";
    public const string RateLimitsTableVariable = "RATE_LIMITS_TABLE";
    public const string OrderEventsQueueUrlVariable = "ORDER_EVENTS_QUEUE_URL";
    public const string DeliveryStatusQueueUrlVariable = "DELIVERY_STATUS_QUEUE_URL";
    public const string CarrierEventsQueueUrlVariable = "CARRIER_EVENTS_QUEUE_URL";

    /// <summary>Environment variable → table name, for every table the app knows.</summary>
    public static readonly IReadOnlyList<string> TableVariables =
    [
        OrdersTableVariable, ProductsTableVariable, ShipmentsTableVariable, ConnectionsTableVariable,
        IdempotencyTableVariable, ClientsTableVariable, TokensTableVariable, RateLimitsTableVariable,
    ];

    /// <summary>Environment variable → queue URL, for every queue the app sends to.</summary>
    public static readonly IReadOnlyList<string> QueueVariables =
    [
        OrderEventsQueueUrlVariable, DeliveryStatusQueueUrlVariable, CarrierEventsQueueUrlVariable,
    ];

    public string OrdersTable => Require(OrdersTableVariable);
    public string ProductsTable => Require(ProductsTableVariable);
    public string ShipmentsTable => Require(ShipmentsTableVariable);
    public string ConnectionsTable => Require(ConnectionsTableVariable);
    public string IdempotencyTable => Require(IdempotencyTableVariable);
    public string ClientsTable => Require(ClientsTableVariable);
    public string TokensTable => Require(TokensTableVariable);
    public string RateLimitsTable => Require(RateLimitsTableVariable);
    public string OrderEventsQueueUrl => Require(OrderEventsQueueUrlVariable);
    public string DeliveryStatusQueueUrl => Require(DeliveryStatusQueueUrlVariable);
    public string CarrierEventsQueueUrl => Require(CarrierEventsQueueUrlVariable);

    /// <summary>The configured tables, keyed by their variable.</summary>
    public IEnumerable<KeyValuePair<string, string>> ConfiguredTables => Configured(TableVariables);

    /// <summary>The configured queues, keyed by their variable.</summary>
    public IEnumerable<KeyValuePair<string, string>> ConfiguredQueues => Configured(QueueVariables);

    /// <summary>The value of <paramref name="variable"/>, or null when this function is not given it.</summary>
    public string? Find(string variable) => configuration[variable] is { Length: > 0 } value ? value : null;

    public string Require(string variable) =>
        Find(variable) ?? throw new InvalidOperationException(
                $"{variable} is not set: template.yaml must give this function the variable, or the local host must provision it.");

    private IEnumerable<KeyValuePair<string, string>> Configured(IEnumerable<string> variables) =>
        variables
            .Select(v => KeyValuePair.Create(v, configuration[v] ?? ""))
            .Where(p => p.Value.Length > 0);
}
