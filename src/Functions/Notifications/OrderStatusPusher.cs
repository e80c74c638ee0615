using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Platform.Idempotency;

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
/// The one place that pushes order status changes: Orders announces every written change (see
/// <see cref="IOrderStatusObserver"/>), and this sends it to every open connection of the order's owner that
/// wants that order, in parallel with a bound, through the management API. Each order version is pushed once: a
/// change whose status write claimed its announcement (<see cref="OrderStatusChange.AnnouncementClaimed"/>, the
/// delivery pipeline's) is pushed at once; any other is claimed in the idempotency table first, in one conditional
/// write that saves the frame as done (<see cref="IdempotencyStore.ClaimCompletedAsync"/>, keyed by order id and
/// version), so an announcement that comes again after a retry pushes nothing. A push that throws answers false and
/// releases its claim for the retry. A gone connection (410)
/// is deleted; any other failure is logged and counted here, never thrown: a failed push must not fail the status
/// change it reports.
/// </summary>
public sealed class OrderStatusPusher(
    ConnectionStore connections,
    ApiGatewayManagementClient management,
    IdempotencyStore idempotency,
    Metrics metrics,
    ILogger<OrderStatusPusher> logger)
    : IOrderStatusObserver
{
    /// <summary>The operation under which pushes are claimed in the idempotency table.</summary>
    public const string PushOperation = "push-order-status";

    /// <summary>At most this many pushes of one change are in flight at once.</summary>
    public const int MaxParallelPushes = 16;

    public async Task<bool> OnStatusChangedAsync(OrderStatusChange change, CancellationToken cancellationToken)
    {
        IdempotencyClaim? claim = null;
        var pushed = false;
        try
        {
            var frame = new OrderStatusChanged(change.OrderId, change.Status.ToWire(), change.PreviousStatus?.ToWire(), change.OccurredAt, change.CorrelationId);
            if (!change.AnnouncementClaimed)
            {
                claim = await idempotency.ClaimCompletedAsync(PushOperation, change.Owner,
                    string.Create(CultureInfo.InvariantCulture, $"{change.OrderId}:{change.Version}"), change.Status.ToWire(),
                    new StoredResponse(StatusCodes.Status200OK, StoredResponse.JsonContentType,
                        JsonSerializer.Serialize(frame, NotificationsJson.Default.OrderStatusChanged), null), cancellationToken);
                if (claim is null)
                {
                    logger.AlreadyPushed(change.Status, change.OrderId, change.Version);
                    return true;
                }
            }

            await PushAsync(change.Owner, frame, cancellationToken);
            pushed = true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.PushOfChangeFailed(e, change.OrderId, change.Status);
        }
        finally
        {
            // Not pushed (failed or cancelled): the claim goes, so that the announcement's retry pushes.
            if (claim is not null && !pushed)
            {
                await idempotency.ReleaseAsync(claim);
            }
        }

        return pushed;
    }

    /// <summary>Sends the change to the owner's connections that want it; answers how many received it.</summary>
    public async Task<int> PushAsync(string owner, OrderStatusChanged change, CancellationToken cancellationToken)
    {
        var targets = (await connections.ForOwnerAsync(owner, cancellationToken)).Where(c => c.Wants(change.OrderId)).ToList();
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
    [LoggerMessage(Level = LogLevel.Debug, Message = "{Status} of order {OrderId} (version {Version}) is pushed already")]
    public static partial void AlreadyPushed(this ILogger logger, OrderStatus status, string orderId, long version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pushing {Status} of order {OrderId} failed; the status change stands")]
    public static partial void PushOfChangeFailed(this ILogger logger, Exception exception, string orderId, OrderStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pushed {Status} of order {OrderId} to {Sent} of {Connections} connections")]
    public static partial void Pushed(this ILogger logger, string status, string orderId, int sent, int connections);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} of {Owner} is gone; deleting it")]
    public static partial void ConnectionGone(this ILogger logger, string connectionId, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push of {Status} for order {OrderId} to connection {ConnectionId} failed")]
    public static partial void PushFailed(this ILogger logger, Exception exception, string status, string orderId, string connectionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "WebSocket connection {ConnectionId} refused: {Reason}")]
    public static partial void ConnectRefused(this ILogger logger, string connectionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete gone connection {ConnectionId}; its TTL will remove it")]
    public static partial void GoneConnectionNotDeleted(this ILogger logger, Exception exception, string connectionId);
}
