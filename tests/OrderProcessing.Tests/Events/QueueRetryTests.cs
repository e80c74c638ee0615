using Amazon.SQS.Model;
using Microsoft.Extensions.Logging.Abstractions;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Platform;
using Options = Microsoft.Extensions.Options.Options;

namespace OrderProcessing.Tests.Events;

/// <summary>
/// A message that failed because a dependency was unavailable is backed off, so that an outage does not spend the
/// receives that the queue's maxReceiveCount keeps for poison messages; a poison message is not.
/// </summary>
public sealed class QueueRetryTests(CloudFixture cloud)
{
    private static readonly QueueRetryOptions TemplateDefaults = new();

    [Theory]
    [InlineData(1, 180)]
    [InlineData(2, 360)]
    [InlineData(3, 720)]
    [InlineData(4, 900)]
    [InlineData(5, 900)]
    [InlineData(0, 180)]
    [InlineData(int.MaxValue, 900)]
    public void The_back_off_doubles_with_each_receive_from_the_queues_visibility_timeout_up_to_the_cap(int receiveCount, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), QueueRetry.DelayFor(receiveCount, TemplateDefaults, jitter: 0));
    }

    [Fact]
    public void Jitter_stretches_a_back_off_by_at_most_a_quarter_and_never_shortens_it()
    {
        Assert.Equal(TimeSpan.FromSeconds(450), QueueRetry.DelayFor(2, TemplateDefaults, jitter: 1));
        Assert.Equal(TimeSpan.FromSeconds(360), QueueRetry.DelayFor(2, TemplateDefaults, jitter: -3));
        Assert.Equal(TimeSpan.FromSeconds(450), QueueRetry.DelayFor(2, TemplateDefaults, jitter: 7));
    }

    [Fact]
    public void With_the_templates_settings_the_four_backed_off_receives_span_36_minutes_of_an_outage_instead_of_12()
    {
        // Receives 1 to 4 fail and are backed off; the 5th is the last before the redrive policy moves the message.
        var span = Enumerable.Range(1, 4).Aggregate(TimeSpan.Zero, (sum, receive) => sum + QueueRetry.DelayFor(receive, TemplateDefaults, 0));

        Assert.Equal(TimeSpan.FromMinutes(36), span);
    }

    [Fact]
    public void No_back_off_is_longer_than_SQS_allows()
    {
        var options = new QueueRetryOptions { BaseDelay = TimeSpan.FromHours(10), MaxDelay = TimeSpan.FromHours(20) };

        Assert.Equal(TimeSpan.FromHours(12), QueueRetry.DelayFor(3, options, jitter: 1));
    }

    [Theory]
    [InlineData("5", "60", 5, 60)]
    [InlineData("5", null, 5, 900)]
    [InlineData(null, null, 180, 900)]
    [InlineData("-1", "abc", 180, 900)]
    [InlineData("600", "60", 600, 600)]
    [InlineData("43201", "1e3", 180, 900)]
    public void The_settings_come_from_the_environment_and_a_bad_value_keeps_the_default(string? baseSeconds, string? maxSeconds, int expectedBase,
        int expectedMax)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["QUEUE_RETRY_BASE_SECONDS"] = baseSeconds,
            ["QUEUE_RETRY_MAX_SECONDS"] = maxSeconds,
        }).Build();

        var options = QueueRetryOptions.From(configuration);

        Assert.Equal(TimeSpan.FromSeconds(expectedBase), options.BaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(expectedMax), options.MaxDelay);
    }

    /// <summary>
    /// On the emulator's queue: two messages received with a 1 s visibility timeout both fail. The poison one comes back
    /// after that second, as the queue would bring it back; the one that met an unavailable dependency stays away for
    /// its 60 s back-off.
    /// </summary>
    [Fact]
    public async Task A_message_that_met_an_unavailable_dependency_stays_away_for_its_back_off_while_a_poison_one_comes_back()
    {
        var stack = await cloud.ProvisionAsync("queue-retry");
        var queue = stack.Queues["CarrierEventsQueue"];
        using var sqs = cloud.Cloud.CreateSqsClient();
        var names = new ResourceNames(new ConfigurationBuilder()
            .AddInMemoryCollection([KeyValuePair.Create(ResourceNames.CarrierEventsQueueUrlVariable, (string?)queue.Url)]).Build());
        var retry = new QueueRetry(sqs, names, Options.Create(new QueueRetryOptions { BaseDelay = TimeSpan.FromSeconds(60) }),
            NullLogger<QueueRetry>.Instance);
        await sqs.SendMessageAsync(queue.Url, "outage");
        await sqs.SendMessageAsync(queue.Url, "poison");

        var received = new List<Message>();
        await Eventually.HoldsAsync(async () =>
        {
            received.AddRange(await ReceiveAsync(sqs, queue.Url, visibilitySeconds: 1));
            return received.Count == 2;
        }, TimeSpan.FromSeconds(30));
        var batch = new SqsEvent([.. received.Select(m => new SqsMessage
        {
            MessageId = m.MessageId,
            ReceiptHandle = m.ReceiptHandle,
            Body = m.Body,
            Attributes = m.Attributes,
            EventSource = "aws:sqs",
            EventSourceArn = queue.Arn,
        })]);

        var response = await SqsBatch.ProcessAsync(batch, retry, NullLogger.Instance, (message, _, _) => message.Body == "outage"
            ? throw new HttpRequestException("Connection refused")
            : throw new PoisonMessageException("not a carrier step"), CancellationToken.None);

        Assert.Equal(received.Select(m => m.MessageId).Order(), response.BatchItemFailures.Select(f => f.ItemIdentifier).Order());
        var again = new List<Message>();
        await Eventually.HoldsAsync(async () =>
        {
            again.AddRange(await ReceiveAsync(sqs, queue.Url, visibilitySeconds: 30));
            return again.Count > 0;
        }, TimeSpan.FromSeconds(30));
        // Long enough for the outage message to have come back too, had its visibility been left at 1 s.
        again.AddRange(await ReceiveAsync(sqs, queue.Url, visibilitySeconds: 30, waitSeconds: 5));
        var poison = Assert.Single(again);
        Assert.Equal("poison", poison.Body);
        Assert.Equal("2", poison.Attributes["ApproximateReceiveCount"]);
    }

    private static async Task<List<Message>> ReceiveAsync(Amazon.SQS.IAmazonSQS sqs, string url, int visibilitySeconds, int waitSeconds = 1) =>
        (await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url,
            MaxNumberOfMessages = 10,
            WaitTimeSeconds = waitSeconds,
            VisibilityTimeout = visibilitySeconds,
            MessageSystemAttributeNames = ["All"],
        })).Messages ?? [];
}
