namespace OrderProcessing.Functions.Notifications;

/// <summary>Live order status for customer apps: connections, the management client, the notifier.</summary>
public static class NotificationsSetup
{
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        services.AddApiGatewayManagement();
        services.AddSingleton<ConnectionStore>();
        services.AddTransient<OrderNotifier>();
        return services;
    }
}
