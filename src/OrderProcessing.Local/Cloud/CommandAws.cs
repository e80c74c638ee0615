namespace OrderProcessing.Local.Cloud;

/// <summary>Settings for the AWS clients of a command that works on a running stack: local emulators or AWS itself.</summary>
public static class CommandAws
{
    /// <summary>
    /// The settings that point one service's client (e.g. "SQS", "DYNAMODB") at <paramref name="endpoint"/>, with the
    /// emulators' region and credentials unless the caller set their own; none when there is no endpoint, so the
    /// client goes to AWS with the caller's credentials from the usual chain.
    /// </summary>
    public static Dictionary<string, string?> Settings(IConfiguration environment, string service, string? endpoint)
    {
        var settings = new Dictionary<string, string?>();
        if (!string.IsNullOrEmpty(endpoint))
        {
            settings[$"AWS_ENDPOINT_URL_{service}"] = endpoint;
            settings["AWS_REGION"] = environment["AWS_REGION"] ?? LocalCloud.Region;
            // An emulator takes any credentials; real AWS gets the caller's own from the usual chain.
            if (string.IsNullOrEmpty(environment["AWS_ACCESS_KEY_ID"]) && string.IsNullOrEmpty(environment["AWS_PROFILE"]))
            {
                settings["AWS_ACCESS_KEY_ID"] = LocalCloud.AccessKeyId;
                settings["AWS_SECRET_ACCESS_KEY"] = LocalCloud.SecretAccessKey;
            }
        }

        return settings;
    }
}
