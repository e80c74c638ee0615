using System.Collections.Concurrent;
using System.Net;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Orders;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Reliability;

public sealed class LastUnitTests(AppFixture stack) : IClassFixture<AppFixture>
{
    /// <summary>
    /// Figure: 50 concurrent orders (50 clients) for the last unit → exactly 1 × 201 and 49 × 409 insufficient-stock,
    /// the stock read 0 or 1 by every look taken during the race (never negative), one order written.
    /// Not in the moto set (<see cref="MotoSet"/>): moto 5's TransactWriteItems is not isolated from concurrent
    /// requests (a refused transaction restores a snapshot, so a committed write or its stream record can be lost,
    /// and a refused one can leave a stream INSERT), which AWS's and DynamoDB Local's are.
    /// </summary>
    [Fact]
    public async Task Fifty_concurrent_orders_for_the_last_unit_give_one_201_and_49_409_and_the_stock_never_goes_negative()
    {
        var last = await stack.Data.AddProductAsync(stock: 1);
        var clients = (await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => stack.CustomerAsync()))).ToList();
        var stockSeen = new ConcurrentBag<int>();
        using var racing = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!racing.IsCancellationRequested)
            {
                stockSeen.Add(await stack.Data.StockAsync(last));
            }
        });

        var responses = await Task.WhenAll(clients.Select(c => PostAsync(c, "/orders", OrderBody([(last, 1)]))));
        await racing.CancelAsync();
        await watcher;

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(49, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        foreach (var refused in responses.Where(r => r.StatusCode == HttpStatusCode.Conflict))
        {
            using var problem = await BodyAsync(refused);
            Assert.Equal("https://orderprocessing.dev/problems/insufficient-stock", problem.RootElement.GetProperty("type").GetString());
            var item = problem.RootElement.GetProperty("items")[0];
            Assert.Equal(("INSUFFICIENT_STOCK", 0), (item.GetProperty("reason").GetString(), item.GetProperty("inStock").GetInt32()));
        }

        Assert.NotEmpty(stockSeen);
        Assert.All(stockSeen, stock => Assert.InRange(stock, 0, 1));
        Assert.Equal(0, await stack.Data.StockAsync(last));
        var orders = await stack.Data.Dynamo.ScanAsync(new ScanRequest { TableName = stack.Data.OrdersTable, ConsistentRead = true });
        Assert.Single(orders.Items.Select(OrderStore.FromItem), o => o.Items.Any(i => i.ProductId == last));
        foreach (var item in responses.Concat<IDisposable>(clients))
        {
            item.Dispose();
        }
    }
}
