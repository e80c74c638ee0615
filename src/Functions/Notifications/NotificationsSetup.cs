using OrderProcessing.Functions.Events;

namespace OrderProcessing.Functions.Notifications;

/// <summary>Live order status for customer apps: connections, the management client, the notifier.</summary>
public static class NotificationsSetup
{
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        services.AddApiGatewayManagement();
        services.AddSingleton<ConnectionStore>();
        services.AddTransient<OrderNotifier>();
        services.AddTransient<IOrderStatusNotifier, WebSocketOrderStatusNotifier>();
        services.AddWebSocketRouteHandler<ConnectRoute>("$connect");
        services.AddWebSocketRouteHandler<DisconnectRoute>("$disconnect");
        services.AddWebSocketRouteHandler<SubscribeRoute>("subscribe");
        services.AddWebSocketRouteHandler<UnsubscribeRoute>("unsubscribe");
        services.AddWebSocketRouteHandler<PingRoute>("ping");
        services.AddWebSocketRouteHandler<DefaultRoute>("$default");
        return services;
    }
}
