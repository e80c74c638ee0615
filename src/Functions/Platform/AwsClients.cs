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
    /// <summary>Clients are made from the app's final configuration, when first asked for.</summary>
    public static IServiceCollection AddAwsClients(this IServiceCollection services)
    {
        services.AddSingleton(sp => OptionsFor(sp.GetRequiredService<IConfiguration>(), "DYNAMODB").CreateServiceClient<IAmazonDynamoDB>());
        services.AddSingleton(sp => OptionsFor(sp.GetRequiredService<IConfiguration>(), "SQS").CreateServiceClient<IAmazonSQS>());
        services.AddSingleton(sp => OptionsFor(sp.GetRequiredService<IConfiguration>(), "KMS").CreateServiceClient<IAmazonKeyManagementService>());
        return services;
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
