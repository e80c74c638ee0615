using System.Text.Json;
using System.Text.Json.Serialization;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Notifications;

/// <summary>What a customer app receives on its WebSocket when one of its orders changes status.</summary>
public sealed record OrderStatusChanged(
    string OrderId,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PreviousStatus,
    DateTimeOffset OccurredAt,
    string CorrelationId)
{
    public const string MessageType = "order.status_changed";

    [JsonPropertyOrder(-1)]
    public string Type => MessageType;
}

/// <summary>
/// Pushes a status change to every open connection of the order's owner that wants that order, in parallel
/// with a bound, through the management API. A gone connection (410) is deleted; any other failure is logged
/// and counted, never thrown: a failed push must not fail the status change it reports.
/// </summary>
public sealed class OrderNotifier(
    ConnectionStore connections,
    ApiGatewayManagementClient management,
    Metrics metrics,
    ILogger<OrderNotifier> logger)
{
    /// <summary>At most this many pushes of one change are in flight at once.</summary>
    public const int MaxParallelPushes = 16;

    /// <summary>Sends the change; answers how many connections received it.</summary>
    public async Task<int> NotifyAsync(string owner, OrderStatusChanged change, CancellationToken cancellationToken)
    {
        List<Connection> targets;
        try
        {
            targets = (await connections.ForOwnerAsync(owner, cancellationToken)).Where(c => c.Wants(change.OrderId)).ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.ConnectionLookupFailed(e, owner, change.OrderId, change.Status);
            return 0;
        }

        if (targets.Count == 0)
        {
            return 0;
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(change, NotificationsJson.Default.OrderStatusChanged);
        var sent = 0;
        await Parallel.ForEachAsync(targets, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelPushes, CancellationToken = cancellationToken },
            async (connection, ct) =>
            {
                try
                {
                    await management.PostToConnectionAsync(new PostToConnectionRequest(connection.ConnectionId, payload), ct);
                    Interlocked.Increment(ref sent);
                    metrics.Count(Metrics.NotificationsSent);
                }
                catch (GoneException)
                {
                    metrics.Count(Metrics.NotificationsGone);
                    logger.ConnectionGone(connection.ConnectionId, owner);
                    await ForgetAsync(connection.ConnectionId, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    logger.PushFailed(e, change.Status, change.OrderId, connection.ConnectionId);
                }
            });
        logger.Pushed(change.Status, change.OrderId, sent, targets.Count);
        return sent;
    }

    private async Task ForgetAsync(string connectionId, CancellationToken cancellationToken)
    {
        try
        {
            await connections.RemoveAsync(connectionId, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.GoneConnectionNotDeleted(e, connectionId);
        }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(OrderStatusChanged))]
internal sealed partial class NotificationsJson : JsonSerializerContext;

internal static partial class NotificationsLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Pushed {Status} of order {OrderId} to {Sent} of {Connections} connections")]
    public static partial void Pushed(this ILogger logger, string status, string orderId, int sent, int connections);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look up the connections of {Owner} for order {OrderId}; {Status} is not pushed")]
    public static partial void ConnectionLookupFailed(this ILogger logger, Exception exception, string owner, string orderId, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} of {Owner} is gone; deleting it")]
    public static partial void ConnectionGone(this ILogger logger, string connectionId, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push of {Status} for order {OrderId} to connection {ConnectionId} failed")]
    public static partial void PushFailed(this ILogger logger, Exception exception, string status, string orderId, string connectionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket connection {ConnectionId} refused: {Reason}")]
    public static partial void ConnectRefused(this ILogger logger, string connectionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete gone connection {ConnectionId}; its TTL will remove it")]
    public static partial void GoneConnectionNotDeleted(this ILogger logger, Exception exception, string connectionId);
}
