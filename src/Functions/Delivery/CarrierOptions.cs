using System.Globalization;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// The carrier settings, from the variables template.yaml gives the delivery functions:
/// CARRIER_NAME, CARRIER_SIMULATOR_ENABLED, CARRIER_PICKUP_DELAY_SECONDS, CARRIER_TRANSIT_DELAY_SECONDS,
/// CARRIER_DELIVERY_DELAY_SECONDS, CARRIER_FAILURE_PERCENT and CARRIER_WEBHOOK_SECRET.
/// </summary>
public sealed record CarrierOptions
{
    /// <summary>SQS DelaySeconds cannot exceed 15 minutes.</summary>
    public const int MaxDelaySeconds = 900;

    public string CarrierName { get; init; } = "demo-carrier";

    /// <summary>When true, new shipments are handed to the simulated carrier (carrier-events queue).</summary>
    public bool SimulatorEnabled { get; init; }

    /// <summary>From CREATED to SHIPPED (picked up).</summary>
    public int PickupDelaySeconds { get; init; } = 10;

    /// <summary>From SHIPPED to IN_TRANSIT.</summary>
    public int TransitDelaySeconds { get; init; } = 20;

    /// <summary>From IN_TRANSIT to DELIVERED (or FAILED).</summary>
    public int DeliveryDelaySeconds { get; init; } = 30;

    /// <summary>Share of simulated shipments that end FAILED instead of DELIVERED, 0 to 100.</summary>
    public int FailurePercent { get; init; }

    /// <summary>The shared secret of the carrier webhook's HMAC signature; empty refuses every webhook call.</summary>
    public string WebhookSecret { get; init; } = "";

    public static CarrierOptions From(IConfiguration configuration)
    {
        var defaults = new CarrierOptions();
        return new CarrierOptions
        {
            CarrierName = configuration["CARRIER_NAME"] is { Length: > 0 } name ? name : defaults.CarrierName,
            SimulatorEnabled = string.Equals(configuration["CARRIER_SIMULATOR_ENABLED"], "true", StringComparison.OrdinalIgnoreCase),
            PickupDelaySeconds = Seconds(configuration, "CARRIER_PICKUP_DELAY_SECONDS", defaults.PickupDelaySeconds),
            TransitDelaySeconds = Seconds(configuration, "CARRIER_TRANSIT_DELAY_SECONDS", defaults.TransitDelaySeconds),
            DeliveryDelaySeconds = Seconds(configuration, "CARRIER_DELIVERY_DELAY_SECONDS", defaults.DeliveryDelaySeconds),
            FailurePercent = Whole(configuration, "CARRIER_FAILURE_PERCENT", 0, 0, 100),
            WebhookSecret = configuration["CARRIER_WEBHOOK_SECRET"] ?? "",
        };
    }

    private static int Seconds(IConfiguration configuration, string variable, int fallback) =>
        Whole(configuration, variable, fallback, 0, MaxDelaySeconds);

    private static int Whole(IConfiguration configuration, string variable, int fallback, int min, int max)
    {
        if (configuration[variable] is not { Length: > 0 } text)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new InvalidOperationException($"{variable} must be a whole number from {min} to {max}; it is '{text}'.");
    }
}
