using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.DeadLetters;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Local.Redrive;

namespace OrderProcessing.Tests.Delivery;

public sealed class RedriveTests(CloudFixture cloud)
{
    private static readonly AppOptions QuickRetries = AppOptions.Pipeline with { CarrierSimulator = false, VisibilityTimeout = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task Redrive_endpoint_moves_dead_letters_back_and_they_are_processed()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, QuickRetries);
        var orderId = Guid.CreateVersion7().ToString();
        // A status for an order that does not exist yet: failed on every receive, then dead-lettered.
        await pipeline.Data.SendAsync("DeliveryStatusQueue", TestData.StatusChange(orderId, DeliveryStatus.Shipped), orderId, "corr-redrive");
        await Eventually.HoldsAsync(async () => await pipeline.Data.VisibleMessagesAsync("DeliveryStatusDlq") == 1, TimeSpan.FromSeconds(60));
        await AddOrderAsync(pipeline, orderId);
        using var admin = await pipeline.AdminAsync();

        using var response = await admin.PostAsync(new Uri("/admin/dlq/delivery-status/redrive", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<RedriveResult>(TestData.Json);
        Assert.Equal(new RedriveResult("delivery-status", pipeline.Data.Queue("DeliveryStatusQueue").Name, pipeline.Data.Queue("DeliveryStatusDlq").Name, 1, 0), result);
        var order = await pipeline.Data.WaitForOrderAsync(orderId, o => o.Status == OrderStatus.Shipped);
        Assert.Equal("corr-redrive", order.History[^1].CorrelationId);
        Assert.Equal(0, await pipeline.Data.MessagesInAsync("DeliveryStatusDlq"));
    }

    [Fact]
    public async Task Redrive_needs_the_admin_scope_and_a_known_queue()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { EventSources = false });
        using var customer = await pipeline.CustomerAsync();
        using var admin = await pipeline.AdminAsync();
        using var anonymous = pipeline.CreateClient();

        using var unauthenticated = await anonymous.PostAsync(new Uri("/admin/dlq/order-events/redrive", UriKind.Relative), null);
        using var forbidden = await customer.PostAsync(new Uri("/admin/dlq/order-events/redrive", UriKind.Relative), null);
        using var unknown = await admin.PostAsync(new Uri("/admin/dlq/order-updates/redrive", UriKind.Relative), null);
        using var empty = await admin.PostAsync(new Uri("/admin/dlq/carrier-events/redrive", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var problem = JsonDocument.Parse(await unknown.Content.ReadAsStringAsync());
        Assert.Equal("https://orderprocessing.dev/problems/queue-not-found", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal(0, (await empty.Content.ReadFromJsonAsync<RedriveResult>(TestData.Json))!.Moved);
    }

    [Fact]
    public async Task Redrive_command_moves_dead_letters_back_and_reports_how_many()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, QuickRetries);
        var orderId = Guid.CreateVersion7().ToString();
        var now = DateTimeOffset.UtcNow;
        // The cancellation overtook the creation (which, say, was held up elsewhere): it refers to nothing and is dead-lettered.
        await pipeline.Data.SendAsync("OrderEventsQueue", Event(new OrderEvent(OrderEvent.CancelledType, orderId, "client-x", OrderStatus.Cancelled,
            OrderStatus.PendingShipment, 2, now, "corr-cli")), orderId, "corr-cli");
        await Eventually.HoldsAsync(async () => await pipeline.Data.VisibleMessagesAsync("OrderEventsDlq") == 1, TimeSpan.FromSeconds(60));
        await pipeline.Data.SendAsync("OrderEventsQueue", Event(new OrderEvent(OrderEvent.Created, orderId, "client-x", OrderStatus.PendingShipment,
            null, 1, now, "corr-cli")), orderId, "corr-cli");
        await pipeline.Data.WaitForShipmentAsync(orderId);
        using var output = new StringWriter();

        var exit = await RedriveCommand.RunAsync(
            ["order-events", "--stack-name", pipeline.Stack.StackName, "--sqs-endpoint", cloud.Cloud.SqsEndpoint.ToString()],
            Repository.Root, new ConfigurationBuilder().Build(), output);

        Assert.Equal(0, exit);
        Assert.Equal($"Moved 1 message(s) from {pipeline.Data.Queue("OrderEventsDlq").Name} back to {pipeline.Data.Queue("OrderEventsQueue").Name}.",
            output.ToString().Trim());
        var shipment = await pipeline.Data.WaitForShipmentAsync(orderId, s => s.Status == DeliveryStatus.Cancelled);
        Assert.Equal([DeliveryStatus.Created, DeliveryStatus.Cancelled], shipment.History.Select(h => h.Status));
        Assert.Equal(0, await pipeline.Data.MessagesInAsync("OrderEventsDlq"));
    }

    [Fact]
    public async Task Redrive_command_names_what_it_needs_when_the_queue_or_stack_is_wrong()
    {
        using var output = new StringWriter();

        var unknownQueue = await RedriveCommand.RunAsync(["order-updates"], Repository.Root, new ConfigurationBuilder().Build(), output);
        var unknownStack = await RedriveCommand.RunAsync(["order-events", "--stack-name", "no-such-stack", "--sqs-endpoint", cloud.Cloud.SqsEndpoint.ToString()],
            Repository.Root, new ConfigurationBuilder().Build(), output);

        Assert.Equal((2, 1), (unknownQueue, unknownStack));
        Assert.Contains("one of order-events, delivery-status, carrier-events", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("stack no-such-stack has no order-events queue", output.ToString(), StringComparison.Ordinal);
    }

    private static string Event(OrderEvent orderEvent) => JsonSerializer.Serialize(orderEvent, OrdersJson.Default.OrderEvent);

    /// <summary>An order written straight to the table, as placing it would (its stream record starts its shipment).</summary>
    private static async Task AddOrderAsync(AppFixture pipeline, string orderId)
    {
        var now = DateTimeOffset.UtcNow;
        var order = new Order(orderId, OrderStatus.PendingShipment, [new OrderLine("p-1", "Parcel", 1, 5m, 5m)], "EUR", 5m,
            new ShippingAddress("Ada", "1 Road", null, "London", null, "N1", "GB"), null, now, now, 1)
        {
            Owner = "client-redrive",
            CorrelationId = "corr-order",
            History = [new StatusChange(OrderStatus.PendingShipment, null, now, "orders-api", "corr-order")],
        };
        await pipeline.Data.Dynamo.PutItemAsync(new PutItemRequest { TableName = pipeline.Data.OrdersTable, Item = OrderStore.ToItem(order) });
    }
}
