using System.Text.Json;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// Business metrics in CloudWatch Embedded Metric Format: one JSON line on standard output per data point,
/// which CloudWatch Logs turns into metrics in namespace OrderProcessing with dimensions service and function.
/// Metric names are the constants below; the template's dashboard and alarms use the same names.
/// </summary>
public sealed class Metrics(IConfiguration configuration, TimeProvider time)
{
    public const string Namespace = "OrderProcessing";

    public const string OrdersCreated = nameof(OrdersCreated);
    public const string OrdersRejectedInsufficientStock = nameof(OrdersRejectedInsufficientStock);
    public const string IdempotentReplays = nameof(IdempotentReplays);
    public const string RateLimited = nameof(RateLimited);
    public const string TokensIssued = nameof(TokensIssued);
    public const string RefreshReuseDetected = nameof(RefreshReuseDetected);
    public const string ShipmentsCreated = nameof(ShipmentsCreated);
    public const string StatusUpdatesApplied = nameof(StatusUpdatesApplied);
    public const string StaleStatusEventsIgnored = nameof(StaleStatusEventsIgnored);
    public const string NotificationsSent = nameof(NotificationsSent);
    public const string NotificationsGone = nameof(NotificationsGone);
    public const string DlqRedriven = nameof(DlqRedriven);
    public const string OrderPlacedToDeliveredLatency = nameof(OrderPlacedToDeliveredLatency);

    private readonly string _service = configuration["POWERTOOLS_SERVICE_NAME"] ?? "orderprocessing";
    private readonly string _function = configuration["AWS_LAMBDA_FUNCTION_NAME"] ?? "local";

    /// <summary>Where the lines go; standard output, where the Lambda runtime hands them to CloudWatch Logs.</summary>
    public TextWriter Output { get; set; } = Console.Out;

    public void Count(string name, double value = 1) => Emit(name, "Count", value);

    public void Milliseconds(string name, double value) => Emit(name, "Milliseconds", value);

    private void Emit(string name, string unit, double value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("_aws");
            json.WriteNumber("Timestamp", time.GetUtcNow().ToUnixTimeMilliseconds());
            json.WriteStartArray("CloudWatchMetrics");
            json.WriteStartObject();
            json.WriteString("Namespace", Namespace);
            json.WriteStartArray("Dimensions");
            json.WriteStartArray();
            json.WriteStringValue("service");
            json.WriteStringValue("function");
            json.WriteEndArray();
            json.WriteEndArray();
            json.WriteStartArray("Metrics");
            json.WriteStartObject();
            json.WriteString("Name", name);
            json.WriteString("Unit", unit);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString("service", _service);
            json.WriteString("function", _function);
            json.WriteNumber(name, value);
            json.WriteEndObject();
        }

        var line = System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        lock (Output)
        {
            Output.Write(line + "\n");
        }
    }
}
