using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform.Idempotency;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Orders;

public sealed class IdempotencyTests(AppFixture stack) : IClassFixture<AppFixture>
{
    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Same_key_and_payload_replays_the_first_response_byte_for_byte_and_orders_once()
    {
        var product = await stack.Data.AddProductAsync(stock: 10);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);
        var body = OrderBody([(product, 2)]);

        using var first = await PostAsync(client, "/orders", body, "key-1");
        using var second = await PostAsync(client, "/orders", body, "key-1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Content.Headers.ContentType, second.Content.Headers.ContentType);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(second.Headers.GetValues("Idempotent-Replayed")));
        Assert.Single(await stack.Data.OrdersOfAsync(clientId));
        Assert.Equal(8, await stack.Data.StockAsync(product));
    }

    [Fact]
    public async Task Same_key_with_a_different_payload_is_refused_with_422_and_writes_nothing()
    {
        var product = await stack.Data.AddProductAsync(stock: 10);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);

        using var first = await PostAsync(client, "/orders", OrderBody([(product, 1)]), "key-2");
        using var second = await PostAsync(client, "/orders", OrderBody([(product, 3)]), "key-2");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        using var problem = await BodyAsync(second);
        Assert.Equal("https://orderprocessing.dev/problems/idempotency-key-reused", problem.RootElement.GetProperty("type").GetString());
        Assert.Single(await stack.Data.OrdersOfAsync(clientId));
        Assert.Equal(9, await stack.Data.StockAsync(product));
    }

    [Fact]
    public async Task Same_key_while_the_first_request_is_in_progress_is_409_with_Retry_After()
    {
        var product = await stack.Data.AddProductAsync(stock: 10);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);
        var body = OrderBody([(product, 1)]);
        await PutInProgressRecordAsync(clientId, "key-3", body, inProgressFor: TimeSpan.FromSeconds(20));

        using var response = await PostAsync(client, "/orders", body, "key-3");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var retryAfter = int.Parse(Assert.Single(response.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 15, 20);
        using var problem = await BodyAsync(response);
        Assert.Equal("https://orderprocessing.dev/problems/request-in-progress", problem.RootElement.GetProperty("type").GetString());
        Assert.Empty(await stack.Data.OrdersOfAsync(clientId));
        Assert.Equal(10, await stack.Data.StockAsync(product));
    }

    [Fact]
    public async Task A_key_left_in_progress_by_a_crashed_request_can_be_retried_once_its_claim_expires()
    {
        var product = await stack.Data.AddProductAsync(stock: 10);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);
        var body = OrderBody([(product, 1)]);
        await PutInProgressRecordAsync(clientId, "key-4", body, inProgressFor: TimeSpan.FromSeconds(-1));

        using var response = await PostAsync(client, "/orders", body, "key-4");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Single(await stack.Data.OrdersOfAsync(clientId));
        var record = await RecordAsync(clientId, "key-4");
        Assert.Equal(IdempotencyRecord.Completed, record.Status);
    }

    /// <summary>
    /// Not in the moto set (<see cref="MotoSet"/>): the duplicates' transactions race for the key's record, and moto 5's
    /// TransactWriteItems is not isolated from concurrent requests (several of them pass the key-is-free condition and
    /// each places an order), which AWS's and DynamoDB Local's are.
    /// </summary>
    [Fact]
    public async Task Concurrent_duplicates_place_one_order_and_every_answer_is_that_order()
    {
        var product = await stack.Data.AddProductAsync(stock: 100);
        var clientId = $"client-{Guid.NewGuid():N}";
        var registered = await stack.CreateClientAsync(Functions.Auth.Scopes.Customer, clientId);
        var clients = Enumerable.Range(0, 8).Select(_ => stack.CreateClient(registered.AccessToken)).ToList();
        var body = OrderBody([(product, 1)]);

        var responses = await Task.WhenAll(clients.Select(c => PostAsync(c, "/orders", body, "key-5")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Single(responses.Select(r => r.Headers.Location).Distinct());
        Assert.Single(responses, r => !r.Headers.Contains("Idempotent-Replayed"));
        Assert.Single((await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()))).Distinct());
        Assert.Single(await stack.Data.OrdersOfAsync(clientId));
        Assert.Equal(99, await stack.Data.StockAsync(product));

        using var retry = await PostAsync(clients[0], "/orders", body, "key-5");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(responses[0].Headers.Location, retry.Headers.Location);
        foreach (var item in responses.Concat<IDisposable>(clients))
        {
            item.Dispose();
        }
    }

    [Fact]
    public async Task A_retry_of_a_placed_order_replays_it_after_its_stock_ran_out_and_reserves_nothing_more()
    {
        var product = await stack.Data.AddProductAsync(stock: 2);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);
        var body = OrderBody([(product, 2)]);

        using var first = await PostAsync(client, "/orders", body, "key-8");
        using var retry = await PostAsync(client, "/orders", body, "key-8");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(await stack.Data.OrdersOfAsync(clientId));
        Assert.Equal(0, await stack.Data.StockAsync(product));
    }

    [Fact]
    public async Task A_key_first_used_by_a_refused_order_is_refused_with_422_for_another_order_even_when_that_one_could_be_placed()
    {
        var product = await stack.Data.AddProductAsync(stock: 1);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);

        using var refused = await PostAsync(client, "/orders", OrderBody([(product, 2)]), "key-9");
        using var other = await PostAsync(client, "/orders", OrderBody([(product, 1)]), "key-9");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Empty(await stack.Data.OrdersOfAsync(clientId));
        Assert.Equal(1, await stack.Data.StockAsync(product));
    }

    [Fact]
    public async Task A_lapsed_claim_left_in_progress_frees_the_key_for_a_refusal_too()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);
        await PutInProgressRecordAsync(clientId, "key-10", OrderBody([(product, 1)]), inProgressFor: TimeSpan.FromSeconds(-1));
        var planted = await RecordAsync(clientId, "key-10");

        using var response = await PostAsync(client, "/orders", OrderBody([(product, 9)]), "key-10");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var record = await RecordAsync(clientId, "key-10");
        Assert.Equal(IdempotencyRecord.Completed, record.Status);
        Assert.NotEqual(planted.Validation, record.Validation);
        Assert.True(StoredResponse.TryParse(record.Data!, out var saved));
        Assert.Equal(409, saved.Status);
    }

    [Fact]
    public async Task Keys_are_scoped_per_client()
    {
        var product = await stack.Data.AddProductAsync(stock: 10);
        var (alice, bob) = ($"client-{Guid.NewGuid():N}", $"client-{Guid.NewGuid():N}");
        using var aliceClient = await stack.CustomerAsync(alice);
        using var bobClient = await stack.CustomerAsync(bob);
        var body = OrderBody([(product, 1)]);

        using var fromAlice = await PostAsync(aliceClient, "/orders", body, "shared-key");
        using var fromBob = await PostAsync(bobClient, "/orders", body, "shared-key");

        Assert.Equal(HttpStatusCode.Created, fromAlice.StatusCode);
        Assert.Equal(HttpStatusCode.Created, fromBob.StatusCode);
        Assert.NotEqual(fromAlice.Headers.Location, fromBob.Headers.Location);
        Assert.False(fromBob.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(8, await stack.Data.StockAsync(product));
    }

    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task A_refused_order_is_replayed_as_the_same_409()
    {
        var product = await stack.Data.AddProductAsync(stock: 1);
        using var client = await stack.CustomerAsync();
        var body = OrderBody([(product, 2)]);

        using var first = await PostAsync(client, "/orders", body, "key-6");
        using var second = await PostAsync(client, "/orders", body, "key-6");

        Assert.Equal(HttpStatusCode.Conflict, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.True(second.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task Completed_records_follow_the_Powertools_schema_and_expire_after_the_configured_time()
    {
        await using var app = await AppFixture.CreateAsync(stack.Cloud, stack.Stack, new Dictionary<string, string?> { ["Idempotency:Expiration"] = "00:10:00" });
        var product = await stack.Data.AddProductAsync(stock: 10);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = (await app.CreateClientAsync(Functions.Auth.Scopes.Customer, clientId)).Http;

        using var response = await PostAsync(client, "/orders", OrderBody([(product, 1)]), "key-7");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var item = (await stack.Data.Dynamo.GetItemAsync(stack.Data.IdempotencyTable,
            new Dictionary<string, AttributeValue> { ["id"] = new() { S = IdempotencyStore.RecordId("POST /orders", clientId, "key-7") } })).Item;
        Assert.Superset(new HashSet<string> { "id", "status", "expiration", "in_progress_expiration", "data", "validation" }, item.Keys.ToHashSet());
        Assert.Equal("COMPLETED", item["status"].S);
        var expiresIn = long.Parse(item["expiration"].N, System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.InRange(expiresIn, 540, 600);
        Assert.True(StoredResponse.TryParse(item["data"].S, out var saved));
        Assert.Equal((201, response.Headers.Location!.ToString()), (saved.Status, saved.Location!));
    }

    [Fact]
    public async Task Cancel_with_a_key_replays_and_the_same_key_on_another_order_is_refused()
    {
        var product = await stack.Data.AddProductAsync(stock: 10);
        using var client = await stack.CustomerAsync();
        using var placedA = await PostAsync(client, "/orders", OrderBody([(product, 1)]));
        using var placedB = await PostAsync(client, "/orders", OrderBody([(product, 1)]));
        var (a, b) = ((await ReadAsync<Order>(placedA)).OrderId, (await ReadAsync<Order>(placedB)).OrderId);

        using var first = await PostAsync(client, $"/orders/{a}/cancel", "", "cancel-key");
        using var replay = await PostAsync(client, $"/orders/{a}/cancel", "", "cancel-key");
        using var other = await PostAsync(client, $"/orders/{b}/cancel", "", "cancel-key");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal(OrderStatus.PendingShipment, (await stack.Data.OrderAsync(b))!.Status);
        Assert.Equal(9, await stack.Data.StockAsync(product));
    }

    private async Task PutInProgressRecordAsync(string clientId, string key, string body, TimeSpan inProgressFor)
    {
        var request = JsonSerializer.Deserialize(body, Functions.Orders.OrdersJson.Default.CreateOrderRequest)!;
        var now = DateTimeOffset.UtcNow;
        await stack.Data.Dynamo.PutItemAsync(stack.Data.IdempotencyTable, new Dictionary<string, AttributeValue>
        {
            ["id"] = new() { S = IdempotencyStore.RecordId("POST /orders", clientId, key) },
            ["status"] = new() { S = IdempotencyRecord.InProgress },
            ["expiration"] = new() { N = now.AddHours(24).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["in_progress_expiration"] = new() { N = (now + inProgressFor).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["validation"] = new() { S = IdempotencyDecision.Hash(JsonSerializer.Serialize(request, Functions.Orders.OrdersJson.Default.CreateOrderRequest)) },
        });
    }

    private async Task<IdempotencyRecord> RecordAsync(string clientId, string key) =>
        IdempotencyStore.FromItem((await stack.Data.Dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = stack.Data.IdempotencyTable,
            Key = new Dictionary<string, AttributeValue> { ["id"] = new() { S = IdempotencyStore.RecordId("POST /orders", clientId, key) } },
            ConsistentRead = true,
        })).Item);
}
