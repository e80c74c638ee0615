using System.Net;
using System.Net.Http.Headers;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Signing;
using Microsoft.Extensions.Http.Resilience;
using OrderProcessing.Functions.Platform;
using Polly;

namespace OrderProcessing.Functions.Notifications;

/// <summary>The connection is gone (API Gateway answered 410): the caller should forget it.</summary>
public sealed class GoneException(string connectionId) : Exception($"Connection {connectionId} is gone.")
{
    public string ConnectionId { get; } = connectionId;
}

/// <summary>Request of <see cref="ApiGatewayManagementClient.PostToConnectionAsync"/>, named as in the AWS SDK.</summary>
public sealed record PostToConnectionRequest(string ConnectionId, ReadOnlyMemory<byte> Data);

/// <summary>
/// The API Gateway management API (<c>{callback}/@connections/{id}</c>) for pushing to WebSocket clients.
/// AWSSDK.ApiGatewayManagementApi is not available to us, so this small client has its shape (PostToConnection,
/// GetConnection, DeleteConnection, GoneException) and signs with AWSSDK.Core's SigV4 signer; swapping in the
/// official client is a change of constructor. Throttling and 5xx are retried with jittered backoff behind a
/// circuit breaker (see <see cref="ApiGatewayManagementSetup.AddApiGatewayManagement"/>); 410 is never retried.
/// </summary>
public sealed class ApiGatewayManagementClient(HttpClient http, IConfiguration configuration)
{
    public const string HttpClientName = "execute-api";

    private Uri CallbackUrl =>
        new((configuration["WEBSOCKET_CALLBACK_URL"] ?? throw new InvalidOperationException("WEBSOCKET_CALLBACK_URL is not set.")).TrimEnd('/') + "/");

    public async Task PostToConnectionAsync(PostToConnectionRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, ConnectionUri(request.ConnectionId))
        {
            Content = new ReadOnlyMemoryContent(request.Data),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(message, cancellationToken);
        await EnsureSuccessAsync(response, request.ConnectionId);
    }

    public async Task<bool> GetConnectionAsync(string connectionId, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(ConnectionUri(connectionId), cancellationToken);
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            return false;
        }

        await EnsureSuccessAsync(response, connectionId);
        return true;
    }

    public async Task DeleteConnectionAsync(string connectionId, CancellationToken cancellationToken)
    {
        using var response = await http.DeleteAsync(ConnectionUri(connectionId), cancellationToken);
        await EnsureSuccessAsync(response, connectionId);
    }

    private Uri ConnectionUri(string connectionId) => new(CallbackUrl, "@connections/" + Uri.EscapeDataString(connectionId));

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string connectionId)
    {
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            throw new GoneException(connectionId);
        }

        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new HttpRequestException($"@connections answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
        }
    }
}

/// <summary>Signs each request (each retry again) with AWSSDK.Core's public SigV4 signer.</summary>
public sealed class SigV4Handler(Func<AWSSigV4Parameters> parameters, TimeProvider time) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var signing = new AWSSigningRequest { HttpMethod = request.Method, RequestUri = request.RequestUri!, Content = content };
        signing.Headers["Host"] = request.RequestUri!.Authority;
        if (request.Content?.Headers.ContentType is { } type)
        {
            signing.Headers["Content-Type"] = type.ToString();
        }

        var signingParameters = parameters();
        signingParameters.SignedAt = time.GetUtcNow().UtcDateTime;
        var signed = await AWSSigV4Signer.SignAsync(signing, signingParameters, cancellationToken);
        foreach (var (name, value) in signed.Headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await base.SendAsync(request, cancellationToken);
    }
}

public static class ApiGatewayManagementSetup
{
    /// <summary>
    /// The management client: signed for service execute-api with the function's credentials, retried on
    /// throttling and 5xx with jittered exponential backoff, behind a circuit breaker so that a failing
    /// endpoint is left alone for a while instead of slowing every status update.
    /// </summary>
    public static IServiceCollection AddApiGatewayManagement(this IServiceCollection services)
    {
        services.AddTransient(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            var options = AwsClients.OptionsFor(configuration, "EXECUTE_API");
            var credentials = new Lazy<AWSCredentials>(() => options.Credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials());
            return new SigV4Handler(
                () => new AWSSigV4Parameters
                {
                    Credentials = credentials.Value,
                    Region = options.Region ?? Amazon.RegionEndpoint.USEast1,
                    Service = "execute-api",
                    SignPayload = true,
                },
                sp.GetRequiredService<TimeProvider>());
        });

        services.AddHttpClient<ApiGatewayManagementClient>(ApiGatewayManagementClient.HttpClientName)
            .AddHttpMessageHandler<SigV4Handler>()
            .AddResilienceHandler("execute-api", (pipeline, context) =>
            {
                var settings = context.ServiceProvider.GetRequiredService<IConfiguration>();
                pipeline.AddTimeout(TimeSpan.FromSeconds(10));
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 3,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(settings.GetValue("PUSH_RETRY_DELAY_MS", 100)),
                });
                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = settings.GetValue("PUSH_BREAKER_MIN_THROUGHPUT", 10),
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = TimeSpan.FromSeconds(settings.GetValue("PUSH_BREAKER_SECONDS", 15)),
                });
                pipeline.AddTimeout(TimeSpan.FromSeconds(3));
            });
        return services;
    }
}
