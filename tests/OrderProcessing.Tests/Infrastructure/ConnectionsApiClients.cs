using Amazon.Runtime;
using OrderProcessing.Functions.Notifications;
using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// Clients of the local @connections API that sign as the app's <see cref="ApiGatewayManagementClient"/> does
/// (AWSSDK.Core's SigV4 signer, service execute-api, payload signed), by default with the identity the local
/// gateway accepts.
/// </summary>
public static class ConnectionsApiClients
{
    /// <param name="accessKey">Access key id to sign with.</param>
    /// <param name="secretKey">Secret key to sign with.</param>
    /// <param name="afterSigning">Sees each request after it is signed, before it is sent (to change it in transit).</param>
    public static HttpClient SignedHttp(string accessKey = LocalCloud.AccessKeyId, string secretKey = LocalCloud.SecretAccessKey, DelegatingHandler? afterSigning = null) =>
        new(new SigV4Handler(
            () => new Amazon.Runtime.Signing.AWSSigV4Parameters
            {
                Credentials = new BasicAWSCredentials(accessKey, secretKey),
                Region = Amazon.RegionEndpoint.USEast1,
                Service = "execute-api",
                SignPayload = true,
            },
            TimeProvider.System)
        { InnerHandler = afterSigning is null ? new SocketsHttpHandler() : WithInner(afterSigning) });

    private static DelegatingHandler WithInner(DelegatingHandler handler)
    {
        handler.InnerHandler = new SocketsHttpHandler();
        return handler;
    }

    /// <summary>The app's own management client against <paramref name="callbackUrl"/>, signing with the given identity.</summary>
    public static ApiGatewayManagementClient Management(Uri callbackUrl, string accessKey = LocalCloud.AccessKeyId, string secretKey = LocalCloud.SecretAccessKey) =>
        new(SignedHttp(accessKey, secretKey),
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["WEBSOCKET_CALLBACK_URL"] = callbackUrl.ToString() }).Build());
}
