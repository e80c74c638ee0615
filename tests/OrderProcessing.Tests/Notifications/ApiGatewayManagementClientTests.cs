using System.Net;
using System.Text;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using OrderProcessing.Functions.Notifications;

namespace OrderProcessing.Tests.Notifications;

public sealed class ApiGatewayManagementClientTests
{
    private const string AccessKey = "AKIDEXAMPLE";
    private const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly DateTimeOffset VectorTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    // AWS's SigV4 test suite (get-vanilla, post-vanilla, get-vanilla-query-order-key-case).
    [Theory]
    [InlineData("GET", "https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    [InlineData("POST", "https://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    [InlineData("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")]
    public void The_reference_verifier_reproduces_AWS_test_suite_signatures(string method, string url, string expected)
    {
        var headers = new Dictionary<string, string> { ["Host"] = "example.amazonaws.com", ["X-Amz-Date"] = "20150830T123600Z" };

        var signature = SigV4Reference.Signature(new HttpMethod(method), new Uri(url), headers, ["host", "x-amz-date"], [], SecretKey, "us-east-1", "service");

        Assert.Equal(expected, signature);
    }

    [Fact]
    public async Task A_push_is_signed_with_SigV4_for_execute_api_that_the_reference_verifier_accepts()
    {
        var recorder = new RecordingHandler(HttpStatusCode.OK);
        var client = CreateClient(recorder, "https://abc123.execute-api.us-east-1.amazonaws.com/prod");
        var data = Encoding.UTF8.GetBytes("{\"type\":\"order.status_changed\"}");

        await client.PostToConnectionAsync(new PostToConnectionRequest("L0SM9cOFvHcCIhw=", data), CancellationToken.None);

        var request = Assert.Single(recorder.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("/prod/%40connections/L0SM9cOFvHcCIhw%3D", request.Uri.AbsolutePath.Replace("@", "%40", StringComparison.Ordinal));
        var authorization = request.Headers["Authorization"];
        Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={AccessKey}/20150830/us-east-1/execute-api/aws4_request", authorization, StringComparison.Ordinal);
        var signedHeaders = authorization.Split("SignedHeaders=")[1].Split(',')[0].Split(';');
        var signature = authorization.Split("Signature=")[1];
        Assert.Contains("host", signedHeaders);
        Assert.Contains("x-amz-date", signedHeaders);
        Assert.Equal(
            SigV4Reference.Signature(HttpMethod.Post, request.Uri, request.Headers, signedHeaders, request.Body, SecretKey, "us-east-1", "execute-api"),
            signature);
    }

    [Fact]
    public async Task A_410_becomes_GoneException_and_is_not_retried()
    {
        var recorder = new RecordingHandler(HttpStatusCode.Gone);
        var client = CreateClient(recorder, "https://abc123.execute-api.us-east-1.amazonaws.com/prod");

        var gone = await Assert.ThrowsAsync<GoneException>(() =>
            client.PostToConnectionAsync(new PostToConnectionRequest("c-1", "{}"u8.ToArray()), CancellationToken.None));

        Assert.Equal("c-1", gone.ConnectionId);
        Assert.Single(recorder.Requests);
    }

    private static ApiGatewayManagementClient CreateClient(HttpMessageHandler bottom, string callbackUrl)
    {
        var signer = new SigV4Handler(
            () => new AWSSigV4Parameters
            {
                Credentials = new BasicAWSCredentials(AccessKey, SecretKey),
                Region = Amazon.RegionEndpoint.USEast1,
                Service = "execute-api",
                SignPayload = true,
            },
            new FixedTime(VectorTime))
        { InnerHandler = bottom };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["WEBSOCKET_CALLBACK_URL"] = callbackUrl }).Build();
        return new ApiGatewayManagementClient(new HttpClient(signer), configuration);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, Dictionary<string, string> Headers, byte[] Body);

    private sealed class RecordingHandler(HttpStatusCode status) : HttpMessageHandler
    {
        public List<RecordedRequest> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
            headers["Host"] = request.RequestUri!.Authority;
            if (request.Content?.Headers.ContentType is { } type)
            {
                headers["Content-Type"] = type.ToString();
            }

            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            Requests.Add(new RecordedRequest(request.Method, request.RequestUri, headers, body));
            return new HttpResponseMessage(status) { Content = new StringContent("{}") };
        }
    }
}
