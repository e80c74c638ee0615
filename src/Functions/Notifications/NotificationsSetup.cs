using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Functions.Notifications;

/// <summary>Live order status for customer apps: connections, the management client, the one pusher of status changes.</summary>
public static class NotificationsSetup
{
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        services.AddApiGatewayManagement();
        services.AddSingleton<ConnectionStore>();
        services.AddTransient<OrderStatusPusher>();
        services.AddTransient<IOrderStatusObserver>(sp => sp.GetRequiredService<OrderStatusPusher>());
        services.AddWebSocketRouteHandler<ConnectRoute>("$connect");
        services.AddWebSocketRouteHandler<DisconnectRoute>("$disconnect");
        services.AddWebSocketRouteHandler<SubscribeRoute>("subscribe");
        services.AddWebSocketRouteHandler<UnsubscribeRoute>("unsubscribe");
        services.AddWebSocketRouteHandler<PingRoute>("ping");
        services.AddWebSocketRouteHandler<DefaultRoute>("$default");
        return services;
    }
}
