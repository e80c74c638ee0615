using Amazon.DynamoDBv2;
using Amazon.Extensions.NETCore.Setup;
using Amazon.KeyManagementService;
using Amazon.SQS;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// AWS SDK clients. On Lambda the SDK finds region and credentials itself; elsewhere the standard
/// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_&lt;SERVICE&gt; settings point a client at an emulator.
/// They are read from configuration, not only the process environment, so a host can set them per app.
/// </summary>
public static class AwsClients
{
    /// <summary>
    /// The longest one call to AWS may take. The SDK's default is 100 s per attempt; a dependency that stops
    /// answering would then hold a request past the 30 s of API Gateway and the function. With three attempts of
    /// at most 5 s (and the standard mode's jittered backoff between them) the caller gets a 503 with Retry-After
    /// in well under that. DynamoDB, SQS and KMS answer our calls in milliseconds; the app never long-polls.
    /// </summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connecting is the quick part of a call; a connection that cannot be made in 2 s is not coming.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Retries after the first attempt (standard retry mode: throttling, 5xx, connection failures).</summary>
    public const int MaxErrorRetry = 2;

    /// <summary>Clients are made from the app's final configuration, when first asked for, with the app's time limits.</summary>
    public static IServiceCollection AddAwsClients(this IServiceCollection services)
    {
        services.AddSingleton(sp => ForFunction(OptionsFor(sp.GetRequiredService<IConfiguration>(), "DYNAMODB")).CreateServiceClient<IAmazonDynamoDB>());
        services.AddSingleton(sp => ForFunction(OptionsFor(sp.GetRequiredService<IConfiguration>(), "SQS")).CreateServiceClient<IAmazonSQS>());
        services.AddSingleton(sp => ForFunction(OptionsFor(sp.GetRequiredService<IConfiguration>(), "KMS")).CreateServiceClient<IAmazonKeyManagementService>());
        return services;
    }

    /// <summary>The time limits of a call made while a request or an event waits for it (not for long polls).</summary>
    public static AWSOptions ForFunction(AWSOptions options)
    {
        options.DefaultClientConfig.Timeout = AttemptTimeout;
        options.DefaultClientConfig.ConnectTimeout = ConnectTimeout;
        options.DefaultClientConfig.RetryMode = Amazon.Runtime.RequestRetryMode.Standard;
        options.DefaultClientConfig.MaxErrorRetry = MaxErrorRetry;
        return options;
    }

    public static AWSOptions OptionsFor(IConfiguration configuration, string serviceId)
    {
        var options = configuration.GetAWSOptions();
        var endpoint = configuration[$"AWS_ENDPOINT_URL_{serviceId}"] ?? configuration["AWS_ENDPOINT_URL"];
        if (!string.IsNullOrEmpty(endpoint))
        {
            options.DefaultClientConfig.ServiceURL = endpoint;
        }

        var region = configuration["AWS_REGION"] ?? configuration["AWS_DEFAULT_REGION"];
        if (!string.IsNullOrEmpty(region))
        {
            options.Region = Amazon.RegionEndpoint.GetBySystemName(region);
            options.DefaultClientConfig.AuthenticationRegion = region;
        }

        if (configuration["AWS_ACCESS_KEY_ID"] is { Length: > 0 } keyId
            && configuration["AWS_SECRET_ACCESS_KEY"] is { Length: > 0 } secret)
        {
            options.Credentials = new Amazon.Runtime.BasicAWSCredentials(keyId, secret);
        }

        return options;
    }
}
