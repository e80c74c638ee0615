using Microsoft.Extensions.DependencyInjection.Extensions;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Functions.Notifications;

/// <summary>An order's status changed: what its owner is told, over every WebSocket connection they hold.</summary>
public sealed record OrderStatusNotification(
    string OrderId,
    string Owner,
    OrderStatus Status,
    OrderStatus? PreviousStatus,
    DateTimeOffset OccurredAt,
    string CorrelationId);

/// <summary>
/// Tells an order's owner that its status changed. Called after the change is written; an implementation
/// may fail (a gone connection, a throttled API) and the caller logs it, because a missed push never undoes or
/// retries a status change: the customer sees the new status on their next read.
/// </summary>
public interface IOrderStatusNotifier
{
    Task NotifyAsync(OrderStatusNotification notification, CancellationToken cancellationToken);
}

/// <summary>Registration of the order status notification seam, and the one way callers use it.</summary>
public static class OrderStatusNotifications
{
    /// <summary>
    /// Notifies, and logs a failure instead of throwing it: the change is written and stays written, and a
    /// customer who missed the push sees it on the next read.
    /// </summary>
    public static async Task NotifyOrLogAsync(this IOrderStatusNotifier notifier, OrderStatusNotification notification, ILogger logger,
        CancellationToken cancellationToken)
    {
        try
        {
            await notifier.NotifyAsync(notification, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.NotificationFailed(e, notification.OrderId, notification.Status);
        }
    }

    /// <summary>
    /// Registers the logging notifier unless a notifier is registered already; the WebSocket notifications
    /// capability registers the one that pushes to the owner's connections.
    /// </summary>
    public static IServiceCollection AddOrderStatusNotifications(this IServiceCollection services)
    {
        services.TryAddSingleton<IOrderStatusNotifier, LoggingOrderStatusNotifier>();
        return services;
    }
}

/// <summary>Pushes each notification to the owner's WebSocket connections (see <see cref="OrderNotifier"/>).</summary>
public sealed class WebSocketOrderStatusNotifier(OrderNotifier notifier) : IOrderStatusNotifier
{
    public Task NotifyAsync(OrderStatusNotification notification, CancellationToken cancellationToken) =>
        notifier.NotifyAsync(notification.Owner, new OrderStatusChanged(
            notification.OrderId,
            notification.Status.ToWire(),
            notification.PreviousStatus?.ToWire(),
            notification.OccurredAt,
            notification.CorrelationId), cancellationToken);
}

/// <summary>Writes each notification to the log: where status changes are seen until they are pushed.</summary>
public sealed class LoggingOrderStatusNotifier(ILogger<LoggingOrderStatusNotifier> logger) : IOrderStatusNotifier
{
    public Task NotifyAsync(OrderStatusNotification notification, CancellationToken cancellationToken)
    {
        logger.OrderStatusNotification(notification.OrderId, notification.Owner, notification.PreviousStatus, notification.Status);
        return Task.CompletedTask;
    }
}

internal static partial class OrderStatusNotificationsLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Notifying the owner of order {OrderId} about {Status} failed; the status change stands")]
    public static partial void NotificationFailed(this ILogger logger, Exception exception, string orderId, OrderStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} of {Owner}: {PreviousStatus} -> {Status} (not pushed: no WebSocket notifier registered)")]
    public static partial void OrderStatusNotification(this ILogger logger, string orderId, string owner, OrderStatus? previousStatus, OrderStatus status);
}
