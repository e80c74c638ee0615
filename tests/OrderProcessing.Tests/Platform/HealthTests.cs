using System.Net;
using System.Text.Json;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Tests.Platform;

public sealed class HealthTests(CloudFixture cloud)
{
    [Fact]
    public async Task Liveness_answers_without_touching_any_dependency()
    {
        // No stack at all: a liveness probe must not need one.
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("health"),
            new Dictionary<string, string?> { ["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:9", ["AWS_ENDPOINT_URL_SQS"] = "http://127.0.0.1:9" });
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/health", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Readiness_checks_every_table_and_queue_of_the_template()
    {
        var stack = await cloud.ProvisionAsync("ready");
        await using var app = await AppFixture.CreateAsync(cloud, stack);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative), TestContext.Current.CancellationToken);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var checks = body.RootElement.GetProperty("checks").EnumerateObject().Select(c => c.Name).ToHashSet();
        Assert.All(stack.Tables.Values, table => Assert.Contains($"dynamodb:{table}", checks));
        Assert.Contains($"sqs:{stack.Queues["OrderEventsQueue"].Name}", checks);
        Assert.Contains($"sqs:{stack.Queues["DeliveryStatusQueue"].Name}", checks);
    }

    [Fact]
    public async Task Readiness_is_503_naming_the_table_when_DynamoDB_stops()
    {
        // Its own emulators: stopping the shared ones would break every other test.
        await using var own = await LocalCloud.StartAsync(new LocalCloudOptions { LocalstackDirectory = Repository.LocalstackDirectory });
        var stack = await LocalHost.ProvisionAsync(own, cloud.Template, "stopped");
        await using var app = await AppFixture.CreateAsync(cloud, stack, own.ClientSettings);
        using var client = app.CreateClient();
        using (var healthy = await client.GetAsync(new Uri("/health/ready", UriKind.Relative), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        }

        await own.StopDynamoDbAsync();
        using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative), TestContext.Current.CancellationToken);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var checks = body.RootElement.GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty($"dynamodb:{stack.Tables["OrdersTable"]}").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty($"sqs:{stack.Queues["OrderEventsQueue"].Name}").GetProperty("status").GetString());
    }
}
