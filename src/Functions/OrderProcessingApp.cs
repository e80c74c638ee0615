using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.DeadLetters;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Notifications;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Functions;

/// <summary>
/// The table of contents of the app: every capability registers its services and maps its endpoints here.
/// The same app serves every Lambda function; which requests reach it is decided by each function's trigger.
/// </summary>
public static class OrderProcessingApp
{
    public static WebApplicationBuilder AddOrderProcessing(this WebApplicationBuilder builder)
    {
        builder.AddPlatform();
        builder.AddAuth();
        builder.Services.AddEvents();
        builder.Services.AddProducts();
        builder.Services.AddOrders();
        builder.Services.AddDelivery();
        builder.Services.AddNotifications();
        builder.Services.AddDeadLetters();
        return builder;
    }

    public static WebApplication MapOrderProcessing(this WebApplication app)
    {
        app.UsePlatform();
        app.UseAuth();
        app.MapHealth();
        app.MapAuth();
        app.MapApiDocs();
        app.MapEvents();
        app.MapProducts();
        app.MapOrders();
        app.MapDelivery();
        app.MapDeadLetters();
        return app;
    }
}
