using System.Net;
using System.Net.Sockets;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.KeyManagementService;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Platform;

/// <summary>What counts as "a dependency is unavailable, retry later" (503 with Retry-After) rather than a 500, and how long the app waits for AWS.</summary>
public sealed class UnavailableDependencyTests
{
    /// <summary>As the SDK throws them: its unmarshallers set ErrorCode and StatusCode from the answer.</summary>
    public static TheoryData<string, Exception> Unavailable => new()
    {
        { "connection refused", new HttpRequestException("Connection refused (localhost:8000)", new SocketException((int)SocketError.ConnectionRefused)) },
        { "socket error", new SocketException((int)SocketError.ConnectionReset) },
        { "connection closed mid-response", new IOException("The response ended prematurely.") },
        { "SDK attempt timed out", new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout.") },
        { "timeout", new TimeoutException() },
        { "503 from the service", new AmazonDynamoDBException("Service unavailable") { StatusCode = HttpStatusCode.ServiceUnavailable } },
        { "500 from the service", new InternalServerErrorException("Internal server error") { StatusCode = HttpStatusCode.InternalServerError } },
        { "throughput exceeded", new ProvisionedThroughputExceededException("Rate exceeded") { ErrorCode = "ProvisionedThroughputExceededException", StatusCode = HttpStatusCode.BadRequest } },
        { "throttled", new AmazonDynamoDBException("Throttled") { ErrorCode = "ThrottlingException", StatusCode = HttpStatusCode.BadRequest } },
        { "request limit", new RequestLimitExceededException("Too many requests") { ErrorCode = "RequestLimitExceeded", StatusCode = HttpStatusCode.BadRequest } },
        { "transaction in progress", new TransactionInProgressException("In progress") { ErrorCode = "TransactionInProgressException", StatusCode = HttpStatusCode.BadRequest } },
        { "SQS throttled", new AmazonSQSException("Throttled") { ErrorCode = "RequestThrottled", StatusCode = HttpStatusCode.Forbidden } },
        { "client exception around a connection failure", new AmazonClientException("Unable to connect", new HttpRequestException("refused")) },
    };

    public static TheoryData<string, Exception> NotUnavailable => new()
    {
        { "condition failed", new ConditionalCheckFailedException("The conditional request failed") { StatusCode = HttpStatusCode.BadRequest } },
        { "no such table", new ResourceNotFoundException("Requested resource not found") { StatusCode = HttpStatusCode.BadRequest } },
        { "invalid request", new AmazonDynamoDBException("One or more parameter values were invalid") { ErrorCode = "ValidationException", StatusCode = HttpStatusCode.BadRequest } },
        { "access denied", new AmazonDynamoDBException("Not authorized") { ErrorCode = "AccessDeniedException", StatusCode = HttpStatusCode.BadRequest } },
        { "bug", new InvalidOperationException("Sequence contains no elements") },
        { "client exception without cause", new AmazonClientException("No RegionEndpoint or ServiceURL configured") },
    };

    [Theory]
    [MemberData(nameof(Unavailable))]
    public void A_dependency_that_cannot_answer_now_is_a_503(string because, Exception exception) =>
        Assert.True(Problems.IsUnavailable(exception), because);

    [Theory]
    [MemberData(nameof(NotUnavailable))]
    public void A_request_or_code_error_is_not_a_503(string because, Exception exception) =>
        Assert.False(Problems.IsUnavailable(exception), because);

    /// <summary>Figure: at most 3 attempts of at most 5 s each per AWS call (SDK default: 100 s per attempt).</summary>
    [Fact]
    public void The_apps_AWS_clients_give_up_within_three_attempts_of_five_seconds()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9",
            ["AWS_REGION"] = "us-east-1",
            ["AWS_ACCESS_KEY_ID"] = "local",
            ["AWS_SECRET_ACCESS_KEY"] = "local",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddAwsClients().BuildServiceProvider();

        var configs = new IClientConfig[]
        {
            services.GetRequiredService<IAmazonDynamoDB>().Config,
            services.GetRequiredService<IAmazonSQS>().Config,
            services.GetRequiredService<IAmazonKeyManagementService>().Config,
        };

        Assert.All(configs, config =>
        {
            Assert.Equal(TimeSpan.FromSeconds(5), config.Timeout);
            Assert.Equal(TimeSpan.FromSeconds(2), config.ConnectTimeout);
            Assert.Equal(RequestRetryMode.Standard, config.RetryMode);
            Assert.Equal(2, config.MaxErrorRetry);
        });
    }
}
