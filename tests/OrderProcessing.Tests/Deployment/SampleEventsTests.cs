using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Deployment;

/// <summary>
/// Every file in events/ (what <c>sam local invoke FUNCTION -e events/FILE.json</c> feeds a function) replayed
/// against the app the way the Lambda Web Adapter hands it over: an HTTP API v2 event becomes the request it
/// describes, any other event is POSTed to /events as it is. The samples name stack <c>orderprocessing</c>; each
/// replay points them at its own provisioned stack. A new file in events/ is replayed without touching this class.
/// </summary>
public sealed class SampleEventsTests(CloudFixture cloud)
{
    private const string SampleStack = "orderprocessing";

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
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Sample_event_gets_the_answer_its_function_should_give(string file)
    {
        var stack = await cloud.ProvisionAsync("samples");
        await using var app = new AppFactory(cloud, stack);
        await PutSampleOrderAsync(stack);
        var json = await File.ReadAllTextAsync(Path.Combine(EventsDirectory, file), TestContext.Current.CancellationToken);
        using var sample = JsonDocument.Parse(json);
        var root = sample.RootElement;

        if (IsHttpApiEvent(root))
        {
            await RegisterBasicAuthClientAsync(app, root);
            using var http = app.CreateClient();
            using var response = await http.SendAsync(ToHttpRequest(root), TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode, $"{file}: {(int)response.StatusCode} {body}");
            if (root.GetProperty("rawPath").GetString() == OAuthEndpoints.TokenPath)
            {
                using var token = JsonDocument.Parse(body);
                Assert.False(string.IsNullOrEmpty(token.RootElement.GetProperty("access_token").GetString()));
            }

            return;
        }

        using var answer = await PostToEventsAsync(app, json.Replace($"{SampleStack}-", $"{stack.StackName}-", StringComparison.Ordinal));
        var result = answer.RootElement;
        if (root.TryGetProperty("Records", out var records))
        {
            Assert.Empty(result.GetProperty("batchItemFailures").EnumerateArray());
            await AssertOutcomeAsync(stack, records[0]);
        }
        else
        {
            var route = root.GetProperty("requestContext").GetProperty("routeKey").GetString();
            // The $connect sample carries a placeholder token: it shows where a real one goes, and is refused.
            Assert.Equal(route == "$connect" ? 401 : 200, result.GetProperty("statusCode").GetInt32());
            if (route == "ping")
            {
                using var frame = JsonDocument.Parse(result.GetProperty("body").GetString()!);
                Assert.Equal("pong", frame.RootElement.GetProperty("type").GetString());
            }
        }
    }

    [Fact]
    public async Task The_token_request_sample_of_a_client_that_is_not_registered_is_refused_as_invalid_client()
    {
        await using var app = new AppFactory(cloud, await cloud.ProvisionAsync("samples"));
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
    private static async Task RegisterBasicAuthClientAsync(AppFactory app, JsonElement e)
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

    private static async Task<JsonDocument> PostToEventsAsync(AppFactory app, string json)
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
        else if (arn.EndsWith("-delivery-status-queue.fifo", StringComparison.Ordinal))
        {
            // StatusUpdater: the order moved on (one more version, one more history entry).
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
