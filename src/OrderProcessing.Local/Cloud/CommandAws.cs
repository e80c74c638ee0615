namespace OrderProcessing.Local.Cloud;

/// <summary>Settings for the AWS clients of a command that works on a running stack: local emulators or AWS itself.</summary>
public static class CommandAws
{
    /// <summary>
    /// The settings that point one service's client (e.g. "SQS", "DYNAMODB") at <paramref name="endpoint"/>; an endpoint on
    /// this machine gets the emulators' region and dummy credentials unless the caller set their own. Without an endpoint
    /// the client goes to AWS with the caller's credentials and region from the usual chain.
    /// </summary>
    public static Dictionary<string, string?> Settings(IConfiguration environment, string service, string? endpoint)
    {
        var settings = new Dictionary<string, string?>();
        if (!string.IsNullOrEmpty(endpoint))
        {
            settings[$"AWS_ENDPOINT_URL_{service}"] = endpoint;
            settings["AWS_REGION"] = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? LocalCloud.Region;
            if (UsesDummyCredentials(environment, endpoint))
            {
                settings["AWS_ACCESS_KEY_ID"] = LocalCloud.AccessKeyId;
                settings["AWS_SECRET_ACCESS_KEY"] = LocalCloud.SecretAccessKey;
            }
        }

        return settings;
    }

    /// <summary>
    /// Everything that would otherwise fail deep inside the first call, as one-line <see cref="SetupException"/>s:
    /// the endpoint (given by <paramref name="endpointSource"/>) does not answer, or there are no credentials.
    /// </summary>
    public static async Task CheckAsync(IConfiguration environment, string? endpoint, string endpointSource, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrEmpty(endpoint))
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new SetupException($"{endpointSource} {endpoint} is not an http(s) URL; give e.g. http://localhost:4566.");
            }

            await ExternalCloud.CheckAnswersAsync(uri, endpointSource,
                "is the local host (or the emulator) running, and is this the endpoint it printed?", cancellationToken);
            if (!UsesDummyCredentials(environment, endpoint))
            {
                await ExternalCloud.CheckCredentialsAsync(environment, ExternalCloud.IsOnThisMachine(uri) ? endpoint : null, cancellationToken);
            }

            return;
        }

        await ExternalCloud.CheckCredentialsAsync(environment, localEndpoint: null, cancellationToken);
    }

    private static bool UsesDummyCredentials(IConfiguration environment, string endpoint) =>
        !ExternalCloud.HasOwnCredentials(environment)
        && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
        && ExternalCloud.IsOnThisMachine(uri);
}
