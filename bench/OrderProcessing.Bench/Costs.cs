using static System.FormattableString;

namespace OrderProcessing.Bench;

/// <summary>
/// AWS list prices, us-east-1, on-demand, without free tiers or volume tiers, as published on 2026-11-25
/// (sources in bench/README.md). Change them here when they change.
/// </summary>
internal static class Prices
{
    public const string Region = "us-east-1";
    public const string AsOf = "2026-11-25";

    /// <summary>template.yaml's Globals: every function is the native x86_64 build with 512 MB.</summary>
    public const double LambdaMemoryGb = 0.5;

    public const double LambdaPerMillionRequests = 0.20;
    public const double LambdaX86PerGbSecond = 0.0000166667;
    public const double HttpApiPerMillionRequests = 1.00;
    public const double WebSocketPerMillionMessages = 1.00;
    public const double WebSocketPerMillionConnectionMinutes = 0.25;
    public const double DynamoDbPerMillionWriteUnits = 0.625;
    public const double DynamoDbPerMillionReadUnits = 0.125;
    public const double SqsFifoPerMillionRequests = 0.50;

    /// <summary>Asymmetric (ECC) Sign: what the token endpoint calls on AWS, once per token issued.</summary>
    public const double KmsAsymmetricPer10kRequests = 0.15;
}

/// <summary>One line of the cost per million orders.</summary>
internal sealed record CostLine(string Service, string Unit, double UnitsPerOrder, string Price, double DollarsPerMillionOrders);

/// <summary>
/// The AWS cost of a million orders from what one order was measured to cost (calls, units, function time), plus
/// the WebSocket connection a customer holds while watching it.
/// </summary>
internal static class CostModel
{
    /// <summary>Assumed: each order is watched over one WebSocket connection of its own, held this long.</summary>
    public const double ConnectionMinutesPerOrder = 5;

    /// <summary>Write units per order as AWS bills them (what the cost uses): the connection's count once per order.</summary>
    public static double BilledWriteUnitsPerOrder(LifecycleResult run) => (run.PerRun.BilledWriteUnits / run.Orders) + run.Connection.BilledWriteUnits;

    /// <summary>Write units per order as DynamoDB Local reported them, which over-counts TransactWriteItems.</summary>
    public static double ReportedWriteUnitsPerOrder(LifecycleResult run) => (run.PerRun.WriteUnits / run.Orders) + run.Connection.WriteUnits;

    public static IReadOnlyList<CostLine> PerMillionOrders(LifecycleResult run)
    {
        // The connection's own calls count once per order: one connection per order is assumed.
        double PerOrder(Window window, Func<string, bool> which) =>
            window.Calls.Where(c => which(c.Key)).Sum(c => (double)c.Value.Requests) / (ReferenceEquals(window, run.Connection) ? 1 : run.Orders);

        double SecondsPerOrder(Window window, Func<string, bool> which) =>
            window.Calls.Where(c => which(c.Key)).Sum(c => c.Value.Time.TotalSeconds) / (ReferenceEquals(window, run.Connection) ? 1 : run.Orders);

        static bool Invocation(string name) => name.StartsWith("Lambda ", StringComparison.Ordinal) || name.StartsWith("HTTP API ", StringComparison.Ordinal);
        static bool Billed(string name) => name.StartsWith("SQS ", StringComparison.Ordinal) && name != "SQS ReceiveMessage (empty)";

        var invocations = PerOrder(run.PerRun, Invocation) + PerOrder(run.Connection, Invocation);
        var gbSeconds = (SecondsPerOrder(run.PerRun, Invocation) + SecondsPerOrder(run.Connection, Invocation)) * Prices.LambdaMemoryGb;
        var httpApi = PerOrder(run.PerRun, n => n.StartsWith("HTTP API ", StringComparison.Ordinal));
        var pushes = PerOrder(run.PerRun, n => n.StartsWith("execute-api POST", StringComparison.Ordinal));
        var writeUnits = BilledWriteUnitsPerOrder(run);
        var readUnits = (run.PerRun.ReadUnits / run.Orders) + run.Connection.ReadUnits;
        var sqs = PerOrder(run.PerRun, Billed);
        var kms = PerOrder(run.PerRun, n => n.StartsWith("KMS ", StringComparison.Ordinal));
        return
        [
            new("Lambda", "requests", invocations, Invariant($"${Prices.LambdaPerMillionRequests:0.00} per million"), invocations * Prices.LambdaPerMillionRequests),
            new("Lambda", "GB-s (512 MB, x86_64)", gbSeconds, Invariant($"${Prices.LambdaX86PerGbSecond:0.##########} per GB-s"), gbSeconds * Prices.LambdaX86PerGbSecond * 1e6),
            new("API Gateway HTTP API", "requests", httpApi, Invariant($"${Prices.HttpApiPerMillionRequests:0.00} per million"), httpApi * Prices.HttpApiPerMillionRequests),
            new("API Gateway WebSocket", "messages (pushes)", pushes, Invariant($"${Prices.WebSocketPerMillionMessages:0.00} per million"), pushes * Prices.WebSocketPerMillionMessages),
            new("API Gateway WebSocket", "connection minutes (assumed)", ConnectionMinutesPerOrder, Invariant($"${Prices.WebSocketPerMillionConnectionMinutes:0.##########} per million"),
                ConnectionMinutesPerOrder * Prices.WebSocketPerMillionConnectionMinutes),
            new("DynamoDB on-demand", "write request units (TransactWriteItems billed as AWS documents them)", writeUnits, Invariant($"${Prices.DynamoDbPerMillionWriteUnits:0.##########} per million"), writeUnits * Prices.DynamoDbPerMillionWriteUnits),
            new("DynamoDB on-demand", "read request units", readUnits, Invariant($"${Prices.DynamoDbPerMillionReadUnits:0.##########} per million"), readUnits * Prices.DynamoDbPerMillionReadUnits),
            new("SQS", "requests (FIFO price)", sqs, Invariant($"${Prices.SqsFifoPerMillionRequests:0.00} per million"), sqs * Prices.SqsFifoPerMillionRequests),
            new("KMS", "requests", kms, Invariant($"${Prices.KmsAsymmetricPer10kRequests:0.##########} per 10,000"), kms * Prices.KmsAsymmetricPer10kRequests * 100),
        ];
    }
}
