using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.SQS;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Orders;

/// <summary>
/// One provisioned stack and app per test class, with the means to make data and look at the tables.
/// Every test makes its own products and callers (unique ids), so tests of a class do not see each other.
/// </summary>
public sealed class OrderingStack(CloudFixture cloud) : IAsyncLifetime
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public ProvisionedStack Stack { get; private set; } = null!;

    public AppFactory App { get; private set; } = null!;

    public IAmazonDynamoDB Dynamo { get; } = cloud.CreateDynamoDbClient();

    public IAmazonSQS Sqs { get; } = cloud.CreateSqsClient();

    public CloudFixture Cloud => cloud;

    public string ProductsTable => Stack.Tables["ProductsTable"];

    public string OrdersTable => Stack.Tables["OrdersTable"];

    public string IdempotencyTable => Stack.Tables["IdempotencyTable"];

    public async ValueTask InitializeAsync()
    {
        Stack = await cloud.ProvisionAsync("orders");
        App = new AppFactory(cloud, Stack);
    }

    /// <summary>A newly registered customer app (its own client id, the customer scopes) with a real bearer token.</summary>
    public async Task<HttpClient> CustomerAsync(string? clientId = null) =>
        (await App.CreateClientAsync(Scopes.Customer, clientId ?? $"client-{Guid.NewGuid():N}")).Http;

    /// <summary>A newly registered client with exactly these scopes.</summary>
    public async Task<HttpClient> CallerAsync(string clientId, params string[] scopes) => (await App.CreateClientAsync(scopes, clientId)).Http;

    public Task<HttpClient> AdminAsync() => CallerAsync($"admin-{Guid.NewGuid():N}", Scopes.Admin, Scopes.ProductsRead);

    /// <summary>A product straight into the table, with a unique id.</summary>
    public async Task<string> AddProductAsync(int stock, decimal price = 10m, string currency = "EUR", string? name = null)
    {
        var id = $"p-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        await Dynamo.PutItemAsync(ProductsTable, ProductStore.ToItem(new Product(id, name ?? $"Product {id[..8]}", null, price, currency, stock, now, now)));
        return id;
    }

    public async Task<int> StockAsync(string productId)
    {
        var item = (await Dynamo.GetItemAsync(new GetItemRequest { TableName = ProductsTable, Key = ProductStore.Key(productId), ConsistentRead = true })).Item;
        return int.Parse(item["stock"].N, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<Order?> StoredOrderAsync(string orderId)
    {
        var item = (await Dynamo.GetItemAsync(new GetItemRequest { TableName = OrdersTable, Key = OrderStore.Key(orderId), ConsistentRead = true })).Item;
        return item is { Count: > 0 } ? OrderStore.FromItem(item) : null;
    }

    /// <summary>Every order item in the table for this owner (a test-only Scan, to see exactly what was written).</summary>
    public async Task<List<Order>> StoredOrdersOfAsync(string owner)
    {
        var response = await Dynamo.ScanAsync(new ScanRequest
        {
            TableName = OrdersTable,
            ConsistentRead = true,
            FilterExpression = "#o = :o",
            ExpressionAttributeNames = new Dictionary<string, string> { ["#o"] = "owner" },
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":o"] = new() { S = owner } },
        });
        return (response.Items ?? []).Select(OrderStore.FromItem).ToList();
    }

    public static string OrderBody(IEnumerable<(string ProductId, int Quantity)> items, string? customerReference = null) =>
        JsonSerializer.Serialize(new
        {
            items = items.Select(i => new { productId = i.ProductId, quantity = i.Quantity }),
            shippingAddress = new { name = "Ada Lovelace", line1 = "12 St James's Square", city = "London", postalCode = "SW1Y 4JH", country = "GB" },
            customerReference,
        }, Json);

    public static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string json, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent(json) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    public static async Task<JsonDocument> BodyAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync());

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<T>(Json))!;

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        Dynamo.Dispose();
        Sqs.Dispose();
    }
}
