using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace OrderProcessing.Local.Cloud;

/// <summary>
/// AWS services that something else runs (LocalStack, moto_server, a running local host's emulators, AWS itself),
/// named the way the AWS SDKs and CLI name them: <c>AWS_ENDPOINT_URL_DYNAMODB</c> and <c>AWS_ENDPOINT_URL_SQS</c> each
/// over <c>AWS_ENDPOINT_URL</c>. Everything that can be wrong with them is found before the first AWS call and
/// reported as a <see cref="SetupException"/> of one line naming the fix.
/// </summary>
public static class ExternalCloud
{
    /// <summary>
    /// The services the environment names, or null when it names none (the local host then starts its own emulators).
    /// Endpoints on this machine get dummy credentials when the caller set none, as LocalStack documents
    /// (<c>test</c>/<c>test</c>): an emulator takes any. Anywhere else the caller's own credentials apply.
    /// </summary>
    public static LocalCloud? FromEnvironment(IConfiguration environment)
    {
        var shared = environment["AWS_ENDPOINT_URL"];
        var dynamoDb = FirstSet(environment["AWS_ENDPOINT_URL_DYNAMODB"], shared);
        var sqs = FirstSet(environment["AWS_ENDPOINT_URL_SQS"], shared);
        if (dynamoDb is null && sqs is null)
        {
            return null;
        }

        if (dynamoDb is null || sqs is null)
        {
            var (set, missing) = dynamoDb is null ? ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB") : ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS");
            throw new SetupException($"{set} is set but {missing} is not; set both (or AWS_ENDPOINT_URL for every service), or neither to let the local host start its own emulators.");
        }

        var dynamoDbUri = Endpoint(dynamoDb, environment["AWS_ENDPOINT_URL_DYNAMODB"] is { Length: > 0 } ? "AWS_ENDPOINT_URL_DYNAMODB" : "AWS_ENDPOINT_URL");
        var sqsUri = Endpoint(sqs, environment["AWS_ENDPOINT_URL_SQS"] is { Length: > 0 } ? "AWS_ENDPOINT_URL_SQS" : "AWS_ENDPOINT_URL");
        var dummyCredentials = !HasOwnCredentials(environment) && IsOnThisMachine(dynamoDbUri) && IsOnThisMachine(sqsUri);
        return LocalCloud.Attach(dynamoDbUri, sqsUri, dummyCredentials);
    }

    /// <summary>True when the caller chose credentials (keys or a profile); the SDK's chain then finds them.</summary>
    public static bool HasOwnCredentials(IConfiguration environment) =>
        !string.IsNullOrEmpty(environment["AWS_ACCESS_KEY_ID"]) || !string.IsNullOrEmpty(environment["AWS_PROFILE"]);

    /// <summary>localhost, 127.0.0.0/8 or ::1: an emulator on this machine, never AWS.</summary>
    public static bool IsOnThisMachine(Uri endpoint) =>
        endpoint.IsLoopback || endpoint.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks that every endpoint answers HTTP and that credentials exist for them, before anything is created.</summary>
    public static async Task CheckAsync(LocalCloud cloud, IConfiguration environment, CancellationToken cancellationToken = default)
    {
        var variables = new[]
        {
            (cloud.DynamoDbEndpoint, environment["AWS_ENDPOINT_URL_DYNAMODB"] is { Length: > 0 } ? "AWS_ENDPOINT_URL_DYNAMODB" : "AWS_ENDPOINT_URL"),
            (cloud.SqsEndpoint, environment["AWS_ENDPOINT_URL_SQS"] is { Length: > 0 } ? "AWS_ENDPOINT_URL_SQS" : "AWS_ENDPOINT_URL"),
        };
        foreach (var (endpoint, variable) in variables.DistinctBy(v => v.Item1))
        {
            await CheckAnswersAsync(endpoint, variable,
                $"start the emulator (e.g. LocalStack) there, or unset {variable} and the local host starts its own emulators", cancellationToken);
        }

        if (!cloud.UsesEmulatorCredentials)
        {
            await CheckCredentialsAsync(environment, IsOnThisMachine(cloud.DynamoDbEndpoint) ? cloud.DynamoDbEndpoint.ToString() : null, cancellationToken);
        }
    }

    /// <summary>
    /// Any HTTP answer (even 4xx) means a server listens; a refused or timed-out connection, or a name that does not
    /// resolve, means nothing does (the message names <paramref name="source"/> and <paramref name="fix"/>). The SDK would retry such a call and end in a stack trace.
    /// </summary>
    public static async Task CheckAnswersAsync(Uri endpoint, string source, string fix, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(3) }) { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await http.GetAsync(endpoint, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SetupException($"nothing answers at {endpoint} ({source}): {Reason(e)}; {fix}{(fix.EndsWith('?') ? "" : ".")}", e);
        }
    }

    /// <summary>
    /// Resolves the SDK's default credential chain (environment, profiles, SSO, container and instance roles) once,
    /// so that no credentials is one line, not the SDK's exception from deep inside the first call. <paramref name="localEndpoint"/>
    /// is the emulator on this machine they are for, or null for AWS itself.
    /// </summary>
    public static async Task CheckCredentialsAsync(IConfiguration environment, string? localEndpoint, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrEmpty(environment["AWS_ACCESS_KEY_ID"]) && !string.IsNullOrEmpty(environment["AWS_SECRET_ACCESS_KEY"]))
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            _ = await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null).WaitAsync(timeout.Token);
        }
        catch (Exception e) when (e is AmazonClientException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SetupException(localEndpoint is not null
                ? $"no AWS credentials for the emulator at {localEndpoint}: it takes any, so set e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test (or unset AWS_PROFILE to use those by default)."
                : "no AWS credentials found: sign in (aws configure, aws sso login) or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; "
                    + "for an emulator set its endpoint (AWS_ENDPOINT_URL) and any credentials, e.g. test/test.", e);
        }
    }

    private static string? FirstSet(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static Uri Endpoint(string value, string variable) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new SetupException($"{variable}={value} is not an http(s) URL; set it to e.g. http://localhost:4566.");

    private static string Reason(Exception e) => e switch
    {
        HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } } => "connection refused",
        HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData } } =>
            "the host name does not resolve",
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => "the host name does not resolve",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => "no connection",
        HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } => "the TLS handshake failed",
        TaskCanceledException => "no answer within 10 s",
        _ => e.Message.TrimEnd('.'),
    };
}
