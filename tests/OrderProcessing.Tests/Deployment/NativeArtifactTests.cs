using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging.Abstractions;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Local.EventSources;
using static OrderProcessing.Tests.Deployment.TemplateFunctions;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Deployment;

/// <summary>
/// The Lambda package itself: the Native AOT executable scripts/publish-native produced, named by
/// ORDERPROCESSING_NATIVE_BINARY (.ci/run sets it after publishing). Each function is started as Lambda starts its
/// bootstrap, in the package's folder with only that function's environment from template.yaml, and driven as the
/// Web Adapter drives it (HTTP requests, and events as POST /events) against the emulators. Without the variable
/// these tests are skipped: the rest of the suite runs the JIT build in memory.
/// </summary>
public sealed class NativeArtifactTests(AppFixture stack) : IClassFixture<AppFixture>
{
    private const string Reason = "Set ORDERPROCESSING_NATIVE_BINARY to the executable scripts/publish-native produced (.ci/run does).";

    public static string? Binary => Environment.GetEnvironmentVariable("ORDERPROCESSING_NATIVE_BINARY") is { Length: > 0 } path ? path : null;

    public static bool Published => Binary is not null;

    [Fact(Skip = Reason, SkipUnless = nameof(Published))]
    public async Task A_token_an_order_its_stream_record_and_its_queue_message_go_through_the_native_functions()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        await using var auth = await NativeFunction.StartAsync("AuthApi", stack);
        await using var orders = await NativeFunction.StartAsync("OrdersApi", stack);
        await using var publisher = await NativeFunction.StartAsync("OrderEventsPublisher", stack);
        await using var delivery = await NativeFunction.StartAsync("DeliveryProcessor", stack);
        await using var streams = await StreamEventSources.StartAsync(stack.Cloud.Template, stack.Cloud.Cloud, stack.Stack, publisher.Http,
            NullLoggerFactory.Instance);

        using var customer = await stack.CreateClientAsync(Scopes.Customer, $"native-{Guid.NewGuid():N}");
        using var tokenResponse = await auth.Http.SendAsync(TestData.TokenRequest(customer.ClientId, customer.Secret));
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        var token = (await BodyAsync(tokenResponse)).RootElement.GetProperty("access_token").GetString()!;

        orders.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var placed = await PostAsync(orders.Http, "/orders", OrderBody([(product, 2)]), idempotencyKey: Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        var orderId = (await BodyAsync(placed)).RootElement.GetProperty("orderId").GetString()!;
        Assert.Equal(3, await stack.Data.StockAsync(product));
        Assert.NotNull(await stack.Data.OrderAsync(orderId));

        // The stream record of the new order reaches the native publisher, which puts OrderCreated on the FIFO queue.
        var queue = stack.Stack.Queues["OrderEventsQueue"];
        Message? created = null;
        await Eventually.HoldsAsync(async () =>
        {
            var received = await stack.Data.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = queue.Url,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageSystemAttributeNames = ["All"],
                MessageAttributeNames = ["All"],
            });
            created = received.Messages?.FirstOrDefault(m => m.Attributes?.GetValueOrDefault("MessageGroupId") == orderId) ?? created;
            return created is not null;
        });

        // That message and a poison one in one batch: only the poison is reported, the order gets its shipment.
        var poison = Record(queue, $"poison-{Guid.NewGuid():N}", "{not json", group: "poison-group");
        var batch = new JsonObject { ["Records"] = new JsonArray(Record(queue, created!.MessageId, created.Body, orderId, created), poison) };
        using var answer = await delivery.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(batch.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var failures = (await BodyAsync(answer)).RootElement.GetProperty("batchItemFailures").EnumerateArray()
            .Select(f => f.GetProperty("itemIdentifier").GetString()).ToList();
        Assert.Equal(poison["messageId"]!.GetValue<string>(), Assert.Single(failures));
        var shipments = await stack.Data.Dynamo.ScanAsync(new ScanRequest
        {
            TableName = stack.Stack.Tables["ShipmentsTable"],
            ConsistentRead = true,
            FilterExpression = "orderId = :order",
            ExpressionAttributeValues = new() { [":order"] = new AttributeValue { S = orderId } },
        });
        Assert.Single(shipments.Items);
    }

    [Fact(Skip = Reason, SkipUnless = nameof(Published))]
    public async Task The_native_WebSocket_function_refuses_a_connect_without_a_token_and_stores_one_with_a_token()
    {
        await using var auth = await NativeFunction.StartAsync("AuthApi", stack);
        await using var webSocket = await NativeFunction.StartAsync("WebSocket", stack);
        using var customer = await stack.CreateClientAsync(Scopes.Customer, $"native-ws-{Guid.NewGuid():N}");
        using var tokenResponse = await auth.Http.SendAsync(TestData.TokenRequest(customer.ClientId, customer.Secret));
        var token = (await BodyAsync(tokenResponse)).RootElement.GetProperty("access_token").GetString()!;
        var (refused, accepted) = ($"refused{Guid.NewGuid():N}", $"accepted{Guid.NewGuid():N}");

        var withoutToken = await ConnectAsync(webSocket, refused, token: null);
        var withToken = await ConnectAsync(webSocket, accepted, token);

        Assert.InRange(withoutToken, 400, 499);
        Assert.Equal(200, withToken);
        Assert.Empty(await ConnectionAsync(refused));
        Assert.Equal(customer.ClientId, (await ConnectionAsync(accepted))["owner"].S);
    }

    [Fact(Skip = Reason, SkipUnless = nameof(Published))]
    public async Task Malformed_events_get_a_4xx_or_a_batch_failure_from_the_native_process_which_keeps_running()
    {
        await using var delivery = await NativeFunction.StartAsync("DeliveryProcessor", stack);
        var queue = stack.Stack.Queues["OrderEventsQueue"];
        string[] bodies =
        [
            "{not json",
            "[]",
            """{"Records":"none"}""",
            """{"Records":[null]}""",
            $$"""{"Records":[{"eventSource":"aws:sqs","eventSourceARN":"{{queue.Arn}}","messageId":"m-1","body":5}]}""",
            """{"Records":[{"eventSource":"aws:dynamodb","eventSourceARN":"arn:aws:dynamodb:us-east-1:1:table/x/stream/1","dynamodb":{"SequenceNumber":7}}]}""",
            """{"requestContext":{"routeKey":"$connect","connectionId":["x"]}}""",
        ];

        foreach (var body in bodies)
        {
            using var response = await delivery.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(body));
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            // A batch answers with its failures; a WebSocket event with the route's 4xx as the function result.
            Assert.True(status is >= 400 and < 500
                || (status == 200 && (text.Contains("itemIdentifier", StringComparison.Ordinal) || text.Contains("\"statusCode\":4", StringComparison.Ordinal))),
                $"{body} → {status} {text}");
        }

        using var health = await delivery.Http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.False(delivery.Exited, "The native process exited.");
    }

    private static async Task<int> ConnectAsync(NativeFunction function, string connectionId, string? token)
    {
        var connect = new JsonObject
        {
            ["requestContext"] = new JsonObject
            {
                ["routeKey"] = "$connect",
                ["eventType"] = "CONNECT",
                ["connectionId"] = connectionId,
                ["domainName"] = "ws.example.com",
                ["stage"] = "dev",
            },
            ["queryStringParameters"] = token is null ? null : new JsonObject { ["token"] = token },
            ["isBase64Encoded"] = false,
        };
        using var response = await function.Http.PostAsync(new Uri("/events", UriKind.Relative), Json(connect.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await BodyAsync(response)).RootElement.GetProperty("statusCode").GetInt32();
    }

    private async Task<Dictionary<string, AttributeValue>> ConnectionAsync(string connectionId) =>
        (await stack.Data.Dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = stack.Stack.Tables["ConnectionsTable"],
            Key = new() { ["connectionId"] = new AttributeValue { S = connectionId } },
            ConsistentRead = true,
        })).Item ?? [];

    /// <summary>One SQS record in the shape Lambda delivers it.</summary>
    private static JsonObject Record(OrderProcessing.Local.Provisioning.ProvisionedQueue queue, string messageId, string body, string group,
        Message? received = null) => new()
        {
            ["messageId"] = messageId,
            ["receiptHandle"] = received?.ReceiptHandle ?? "receipt",
            ["body"] = body,
            ["attributes"] = new JsonObject([.. (received?.Attributes ?? new() { ["MessageGroupId"] = group, ["ApproximateReceiveCount"] = "1" })
                .Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]),
            ["messageAttributes"] = new JsonObject([.. (received?.MessageAttributes ?? [])
                .Select(a => KeyValuePair.Create(a.Key, (JsonNode?)new JsonObject { ["stringValue"] = a.Value.StringValue, ["dataType"] = a.Value.DataType }))]),
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = queue.Arn,
            ["awsRegion"] = "us-east-1",
        };

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>
    /// The native executable running as one function: started in its package folder with that function's environment
    /// (the stack's values, the emulators' endpoints and credentials, as Lambda gives a role's), on a free port.
    /// </summary>
    private sealed class NativeFunction : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private NativeFunction(Process process, int port)
        {
            _process = process;
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        }

        public HttpClient Http { get; }

        public bool Exited => _process.HasExited;

        public static async Task<NativeFunction> StartAsync(string function, AppFixture stack)
        {
            var binary = Path.GetFullPath(Binary!);
            var port = FreePort();
            var start = new ProcessStartInfo(binary)
            {
                WorkingDirectory = Path.GetDirectoryName(binary)!,
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment.Clear();
            start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH");
            start.Environment["HOME"] = Path.GetTempPath();
            foreach (var (key, value) in OnlyFunction(stack.Cloud.Template, stack.Stack, function).Environment)
            {
                start.Environment[key] = value;
            }

            foreach (var (key, value) in stack.Cloud.Cloud.ClientSettings)
            {
                start.Environment[key] = value;
            }

            start.Environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["AWS_LAMBDA_FUNCTION_NAME"] = $"{stack.Stack.StackName}-{function}";
            start.Environment.TryAdd("AWS_REGION", "us-east-1");
            start.Environment["AUTH_LOCAL_KEY_DIR"] = stack.SigningKeyDirectory;
            start.Environment["AUTH_SECRET_HASH_ITERATIONS"] = "1000";
            // One issuer for every function, as behind the one HTTP API domain on AWS (the AuthIssuer parameter);
            // left empty, each process would name its own port.
            start.Environment["AUTH_ISSUER"] = "https://orders.native.test";

            var process = Process.Start(start)!;
            var native = new NativeFunction(process, port);
            process.OutputDataReceived += (_, e) => native.Record(e.Data);
            process.ErrorDataReceived += (_, e) => native.Record(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await native.WaitForHealthAsync(function);
            return native;
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private void Record(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        private async Task WaitForHealthAsync(string function)
        {
            // What the Web Adapter does before it hands over the first event: poll the readiness path.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                Assert.False(_process.HasExited, $"{function} exited with {(_process.HasExited ? _process.ExitCode : 0)}: {_output}");
                try
                {
                    using var response = await Http.GetAsync(new Uri("/health", UriKind.Relative));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(20);
            }

            Assert.Fail($"{function} did not answer /health within 30 s: {_output}");
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
