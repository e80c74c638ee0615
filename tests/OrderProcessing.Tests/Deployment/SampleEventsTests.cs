using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Notifications;
using OrderProcessing.Local.Provisioning;
using OrderProcessing.Local.Seeding;

namespace OrderProcessing.Tests.Deployment;

/// <summary>
/// Every file in events/ (what <c>sam local invoke FUNCTION -e events/FILE.json</c> feeds a function) replayed
/// against the app the way the Lambda Web Adapter hands it over: an HTTP API v2 event becomes the request it
/// describes, any other event is POSTed to /events as it is. Each sample goes to the function template.yaml routes
/// it to, configured with that function's environment only, so a function missing a variable its code reads fails
/// here. The samples name stack <c>orderprocessing</c>; each replay points them at its own provisioned stack. What a
/// sample cannot carry is put in on the way, as a caller would: a fresh bearer token for the placeholder one, the
/// carrier webhook's signature over a current timestamp and the tracking number of a shipment that exists.
/// </summary>
public sealed class SampleEventsTests(CloudFixture cloud)
{
    private const string SampleStack = TemplateFunctions.SampleStack;

    /// <summary>The webhook secret the carrier webhook sample is signed with (docs/deployment.md, "Sample events").</summary>
    private const string SampleWebhookSecret = "sample-webhook-secret";

    private static readonly string[] EventKinds = ["http-api", "sqs", "dynamodb", "websocket"];

    private const string SampleOrderId = "019abb5e-7c3a-7d2e-9f41-2b6c8a1e4d10";

    public static TheoryData<string> Samples => new(SampleFiles());

    private static IEnumerable<string> SampleFiles() =>
        Directory.GetFiles(EventsDirectory, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal);

    private static string EventsDirectory => Path.Combine(Repository.Root, "events");

    [Fact]
    public void There_is_a_sample_of_every_kind_of_event_the_functions_receive()
    {
        var samples = SampleFiles().Select(f => File.ReadAllText(Path.Combine(EventsDirectory, f))).ToList();

        Assert.Contains(samples, s => s.Contains("\"aws:sqs\"", StringComparison.Ordinal) && s.Contains("order-events.fifo", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"aws:sqs\"", StringComparison.Ordinal) && s.Contains("delivery-status-queue.fifo", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"aws:dynamodb\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"$connect\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"$disconnect\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"routeKey\": \"ping\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"POST /oauth/token\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"aws:sqs\"", StringComparison.Ordinal) && s.Contains("-carrier-events\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Contains("\"routeKey\": \"subscribe\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_sample_reaches_a_function_and_every_function_has_a_sample_of_each_kind_of_trigger_it_has()
    {
        var template = cloud.Template;
        var reached = SampleFiles().Select(file =>
        {
            using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(EventsDirectory, file)));
            return (File: file, Function: TemplateFunctions.FunctionFor(template, sample.RootElement), Kind: KindOf(file));
        }).ToList();
        Assert.Empty(reached.Where(r => r.Function is null).Select(r => r.File));
        Assert.Empty(reached.Where(r => r.Kind is null).Select(r => $"{r.File}: name it http-api-*, sqs-*, dynamodb-* or websocket-*"));

        var webSocketFunction = TemplateFunctions.FunctionFor(template, JsonDocument.Parse("""{"requestContext":{"routeKey":"$default"}}""").RootElement);
        var missing = TemplateFunctions.AllFunctions(template)
            .SelectMany(f => TemplateFunctions.EventsOf(f).Select(e => e.Type switch
                {
                    "HttpApi" => "http-api",
                    "SQS" => "sqs",
                    "DynamoDB" => "dynamodb",
                    var other => other,
                })
                .Concat(f.LogicalId == webSocketFunction ? ["websocket"] : [])
                .Distinct()
                .Where(kind => !reached.Any(r => r.Function == f.LogicalId && r.Kind == kind))
                .Select(kind => $"{f.LogicalId}: no {kind}-*.json sample"));
        Assert.Empty(missing);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Sample_event_gets_the_answer_its_function_should_give(string file)
    {
        var stack = await cloud.ProvisionAsync("samples");
        var original = await File.ReadAllTextAsync(Path.Combine(EventsDirectory, file), TestContext.Current.CancellationToken);
        string? function;
        using (var asWritten = JsonDocument.Parse(original))
        {
            function = TemplateFunctions.FunctionFor(cloud.Template, asWritten.RootElement);
        }

        Assert.NotNull(function);
        var json = original.Replace($"{SampleStack}-", $"{stack.StackName}-", StringComparison.Ordinal);
        using var sample = JsonDocument.Parse(json);
        var root = sample.RootElement;

        // The rest of the system, as far as the sample needs it: it issues tokens and creates the shipment.
        await using var system = await AppFixture.CreateAsync(cloud, stack);
        var functionStack = TemplateFunctions.OnlyFunction(cloud.Template, stack, function);
        var settings = new Dictionary<string, string?> { ["AUTH_LOCAL_KEY_DIR"] = system.SigningKeyDirectory };
        if (functionStack.Environment.ContainsKey("CARRIER_WEBHOOK_SECRET"))
        {
            settings["CARRIER_WEBHOOK_SECRET"] = SampleWebhookSecret; // as `sam local invoke --env-vars` would
        }

        await using var app = await AppFixture.CreateAsync(cloud, functionStack, settings);
        await PutSampleOrderAsync(stack);
        using (var dynamo = cloud.CreateDynamoDbClient())
        {
            await DemoCatalogue.SeedAsync(dynamo, stack.Tables["ProductsTable"], TimeProvider.System, TestContext.Current.CancellationToken);
        }

        if (IsHttpApiEvent(root))
        {
            await RegisterBasicAuthClientAsync(system, root);
            using var request = ToHttpRequest(root);
            await AuthoriseAsync(system, request);
            await SignWebhookAsync(system, stack, request);
            using var http = app.CreateClient();
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode, $"{file} ({function}): {(int)response.StatusCode} {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            using var answer = JsonDocument.Parse(body);
            await AssertHttpOutcomeAsync(stack, root, response, answer.RootElement);
            return;
        }

        if (root.TryGetProperty("Records", out var records))
        {
            if (file.Contains("carrier-events", StringComparison.Ordinal))
            {
                await CreateSampleShipmentAsync(system, stack);
            }

            using var answer = await PostToEventsAsync(app, json);
            Assert.Empty(answer.RootElement.GetProperty("batchItemFailures").EnumerateArray());
            await AssertOutcomeAsync(stack, records[0]);
            return;
        }

        var route = root.GetProperty("requestContext").GetProperty("routeKey").GetString();
        if (route == "subscribe")
        {
            await system.Services.GetRequiredService<ConnectionStore>().AddAsync(
                root.GetProperty("requestContext").GetProperty("connectionId").GetString()!, "demo", TestContext.Current.CancellationToken);
        }

        using (var answer = await PostToEventsAsync(app, json))
        {
            var result = answer.RootElement;
            // The $connect sample carries a placeholder token: it shows where a real one goes, and is refused.
            Assert.Equal(route == "$connect" ? 401 : 200, result.GetProperty("statusCode").GetInt32());
            if (route is "ping" or "subscribe")
            {
                using var frame = JsonDocument.Parse(result.GetProperty("body").GetString()!);
                Assert.Equal(route == "ping" ? "pong" : "subscribed", frame.RootElement.GetProperty("type").GetString());
            }

            if (route == "subscribe")
            {
                var connection = await system.Services.GetRequiredService<ConnectionStore>().GetAsync(
                    root.GetProperty("requestContext").GetProperty("connectionId").GetString()!, TestContext.Current.CancellationToken);
                Assert.Contains(SampleOrderId, connection!.Subscriptions);
            }
        }
    }

    [Fact]
    public async Task The_token_request_sample_of_a_client_that_is_not_registered_is_refused_as_invalid_client()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("samples"));
        using var sample = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(EventsDirectory, "http-api-oauth-token.json"),
            TestContext.Current.CancellationToken));
        using var http = app.CreateClient();

        using var response = await http.SendAsync(ToHttpRequest(sample.RootElement), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("invalid_client", error.RootElement.GetProperty("error").GetString());
    }

    private static bool IsHttpApiEvent(JsonElement root) =>
        root.TryGetProperty("version", out var version) && version.GetString() == "2.0" && root.TryGetProperty("rawPath", out _);

    /// <summary>The kind of event a sample's name says it is (http-api-*, sqs-*, dynamodb-*, websocket-*).</summary>
    private static string? KindOf(string file) =>
        EventKinds.FirstOrDefault(kind => file.StartsWith(kind + "-", StringComparison.Ordinal));

    /// <summary>A sample's bearer token is a placeholder: a caller brings a fresh one (every scope, so admin routes work too).</summary>
    private static async Task AuthoriseAsync(AppFixture system, HttpRequestMessage request)
    {
        if (request.Headers.Authorization?.Scheme != "Bearer")
        {
            return;
        }

        using var client = await system.CreateClientAsync(Scopes.All);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", client.AccessToken);
    }

    /// <summary>The webhook sample names a shipment and a time of its own: point it at a real shipment, sign it now.</summary>
    private static async Task SignWebhookAsync(AppFixture system, ProvisionedStack stack, HttpRequestMessage request)
    {
        if (!request.Headers.Contains(CarrierSignature.SignatureHeader) || request.Content is null)
        {
            return;
        }

        var shipment = await CreateSampleShipmentAsync(system, stack);
        var body = JsonNode.Parse(await request.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        body["trackingNumber"] = shipment.TrackingNumber;
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var contentType = request.Content.Headers.ContentType;
        request.Content = new ByteArrayContent(bytes);
        request.Content.Headers.ContentType = contentType;
        request.Headers.Remove(CarrierSignature.TimestampHeader);
        request.Headers.Remove(CarrierSignature.SignatureHeader);
        request.Headers.Add(CarrierSignature.TimestampHeader, now.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(CarrierSignature.SignatureHeader, CarrierSignature.Sign(SampleWebhookSecret, now, bytes));
    }

    /// <summary>The sample order's shipment, made the way DeliveryProcessor makes it: from the order-events sample.</summary>
    private static async Task<Shipment> CreateSampleShipmentAsync(AppFixture system, ProvisionedStack stack)
    {
        var orderEvents = (await File.ReadAllTextAsync(Path.Combine(EventsDirectory, "sqs-order-events.json"), TestContext.Current.CancellationToken))
            .Replace($"{SampleStack}-", $"{stack.StackName}-", StringComparison.Ordinal);
        using var answer = await PostToEventsAsync(system, orderEvents);
        Assert.Empty(answer.RootElement.GetProperty("batchItemFailures").EnumerateArray());
        return (await system.Services.GetRequiredService<ShipmentStore>().GetAsync($"shp-{SampleOrderId}", TestContext.Current.CancellationToken))!;
    }

    /// <summary>What an HTTP sample should have done, for the routes the samples cover.</summary>
    private async Task AssertHttpOutcomeAsync(ProvisionedStack stack, JsonElement sample, HttpResponseMessage response, JsonElement answer)
    {
        using var dynamo = cloud.CreateDynamoDbClient();
        switch (sample.GetProperty("routeKey").GetString())
        {
            case "POST /oauth/token":
                Assert.False(string.IsNullOrEmpty(answer.GetProperty("access_token").GetString()));
                break;
            case "GET /health":
                Assert.Equal("Healthy", answer.GetProperty("status").GetString());
                break;
            case "POST /check-availability":
                Assert.True(answer.GetProperty("available").GetBoolean());
                Assert.Equal(2, answer.GetProperty("items").GetArrayLength());
                break;
            case "POST /orders":
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                var orderId = answer.GetProperty("orderId").GetString()!;
                Assert.Equal("PENDING_SHIPMENT", answer.GetProperty("status").GetString());
                var order = await dynamo.GetItemAsync(stack.Tables["OrdersTable"],
                    new Dictionary<string, AttributeValue> { ["orderId"] = new() { S = orderId } }, TestContext.Current.CancellationToken);
                Assert.True(order.IsItemSet, $"order {orderId} is in the Orders table");
                break;
            case "GET /orders":
                Assert.Equal(JsonValueKind.Array, answer.GetProperty("items").ValueKind);
                break;
            case "POST /carrier/webhook":
                Assert.Equal("applied", answer.GetProperty("outcome").GetString());
                Assert.Equal("SHIPPED", answer.GetProperty("status").GetString());
                break;
            case "POST /admin/dlq/{queue}/redrive":
                Assert.Equal("order-events", answer.GetProperty("queue").GetString());
                Assert.Equal(0, answer.GetProperty("failed").GetInt32());
                break;
            case var other:
                Assert.Fail($"The sample of route {other} has no expected outcome here; add one.");
                break;
        }
    }

    /// <summary>The request an HTTP API v2 event describes, as the adapter rebuilds it.</summary>
    private static HttpRequestMessage ToHttpRequest(JsonElement e)
    {
        var query = e.TryGetProperty("rawQueryString", out var q) && q.GetString() is { Length: > 0 } raw ? "?" + raw : "";
        var request = new HttpRequestMessage(
            new HttpMethod(e.GetProperty("requestContext").GetProperty("http").GetProperty("method").GetString()!),
            new Uri(e.GetProperty("rawPath").GetString() + query, UriKind.Relative));
        if (e.TryGetProperty("body", out var body) && body.GetString() is { } text)
        {
            var bytes = e.TryGetProperty("isBase64Encoded", out var encoded) && encoded.GetBoolean()
                ? Convert.FromBase64String(text)
                : Encoding.UTF8.GetBytes(text);
            request.Content = new ByteArrayContent(bytes);
        }

        if (e.TryGetProperty("cookies", out var cookies))
        {
            request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", cookies.EnumerateArray().Select(c => c.GetString())));
        }

        foreach (var header in e.GetProperty("headers").EnumerateObject())
        {
            if (header.Name.Equals("host", StringComparison.OrdinalIgnoreCase)
                || header.Name.Equals("content-length", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(header.Name, header.Value.GetString()))
            {
                request.Content?.Headers.TryAddWithoutValidation(header.Name, header.Value.GetString());
            }
        }

        return request;
    }

    /// <summary>A sample that authenticates with HTTP Basic names a client; register it with that secret, as the local host seeds it.</summary>
    private static async Task RegisterBasicAuthClientAsync(AppFixture app, JsonElement e)
    {
        var authorization = e.GetProperty("headers").EnumerateObject()
            .FirstOrDefault(h => h.Name.Equals("authorization", StringComparison.OrdinalIgnoreCase)).Value;
        if (authorization.ValueKind != JsonValueKind.String
            || !AuthenticationHeaderValue.TryParse(authorization.GetString(), out var header) || header.Scheme != "Basic")
        {
            return;
        }

        var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter!)).Split(':', 2);
        var registry = app.Services.GetRequiredService<ClientRegistry>();
        await registry.RegisterAsync(new ClientRegistration("sample client", Scopes.Customer, new RateLimit(10_000, 60), RefreshTokens: false),
            Uri.UnescapeDataString(credentials[0]), Uri.UnescapeDataString(credentials[1]), TestContext.Current.CancellationToken);
    }

    private static async Task<JsonDocument> PostToEventsAsync(AppFixture app, string json)
    {
        using var http = app.CreateClient();
        using var response = await http.PostAsync(new Uri("/events", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/events answered {(int)response.StatusCode}: {body}");
        // The adapter hands the body to Lambda as the function result only if it is JSON.
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body);
    }

    /// <summary>The samples follow one order: it exists as the stream sample's new image shows it.</summary>
    private async Task PutSampleOrderAsync(ProvisionedStack stack)
    {
        using var sample = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(EventsDirectory, "dynamodb-orders-insert.json"),
            TestContext.Current.CancellationToken));
        var image = sample.RootElement.GetProperty("Records")[0].GetProperty("dynamodb").GetProperty("NewImage");
        using var dynamo = cloud.CreateDynamoDbClient();
        await dynamo.PutItemAsync(stack.Tables["OrdersTable"], image.EnumerateObject().ToDictionary(p => p.Name, p => ToAttributeValue(p.Value)),
            TestContext.Current.CancellationToken);
    }

    /// <summary>What the function did, in the tables and queues of the stack, for the samples we know.</summary>
    private async Task AssertOutcomeAsync(ProvisionedStack stack, JsonElement record)
    {
        var arn = record.GetProperty("eventSourceARN").GetString()!;
        var cancellation = TestContext.Current.CancellationToken;
        using var dynamo = cloud.CreateDynamoDbClient();
        if (arn.Contains(":table/", StringComparison.Ordinal))
        {
            // OrderEventsPublisher: the change is on order-events.fifo.
            using var sqs = cloud.CreateSqsClient();
            var received = await sqs.ReceiveMessageAsync(new Amazon.SQS.Model.ReceiveMessageRequest
            {
                QueueUrl = stack.Queues["OrderEventsQueue"].Url,
                WaitTimeSeconds = 1,
            }, cancellation);
            var message = Assert.Single(received.Messages ?? []);
            using var orderEvent = JsonDocument.Parse(message.Body);
            Assert.Equal(record.GetProperty("dynamodb").GetProperty("Keys").GetProperty("orderId").GetProperty("S").GetString(),
                orderEvent.RootElement.GetProperty("orderId").GetString());
            return;
        }

        using var body = JsonDocument.Parse(record.GetProperty("body").GetString()!);
        var orderId = body.RootElement.GetProperty("orderId").GetString()!;
        if (arn.EndsWith("-order-events.fifo", StringComparison.Ordinal))
        {
            // DeliveryProcessor: the order has a shipment.
            var shipment = await dynamo.GetItemAsync(stack.Tables["ShipmentsTable"],
                new Dictionary<string, AttributeValue> { ["shipmentId"] = new() { S = $"shp-{orderId}" } }, cancellation);
            Assert.Equal(orderId, shipment.Item["orderId"].S);
        }
        else if (arn.EndsWith("-carrier-events", StringComparison.Ordinal))
        {
            // CarrierSimulator: the shipment moved to the step's status.
            var shipment = await dynamo.GetItemAsync(stack.Tables["ShipmentsTable"],
                new Dictionary<string, AttributeValue> { ["shipmentId"] = new() { S = body.RootElement.GetProperty("shipmentId").GetString() } }, cancellation);
            Assert.Equal(body.RootElement.GetProperty("status").GetString(), shipment.Item["status"].S);
        }
        else if (arn.EndsWith("-delivery-status-queue.fifo", StringComparison.Ordinal))
        {
            // DeliveryStatusApplier: the order moved on (one more version, one more history entry).
            var order = await dynamo.GetItemAsync(stack.Tables["OrdersTable"],
                new Dictionary<string, AttributeValue> { ["orderId"] = new() { S = orderId } }, cancellation);
            Assert.Equal("2", order.Item["version"].N);
            Assert.Equal(2, order.Item["history"].L.Count);
        }
    }

    internal static AttributeValue ToAttributeValue(JsonElement value)
    {
        var (type, content) = value.EnumerateObject().Single() is var p ? (p.Name, p.Value) : default;
        return type switch
        {
            "S" => new AttributeValue { S = content.GetString() },
            "N" => new AttributeValue { N = content.GetString() },
            "BOOL" => new AttributeValue { BOOL = content.GetBoolean() },
            "NULL" => new AttributeValue { NULL = true },
            "M" => new AttributeValue { M = content.EnumerateObject().ToDictionary(m => m.Name, m => ToAttributeValue(m.Value)) },
            "L" => new AttributeValue { L = content.EnumerateArray().Select(ToAttributeValue).ToList() },
            _ => throw new NotSupportedException($"Attribute type {type} in the sample."),
        };
    }
}
