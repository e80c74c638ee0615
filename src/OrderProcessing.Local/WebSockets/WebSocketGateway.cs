using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OrderProcessing.Local.WebSockets;

/// <summary>API Gateway's limits for WebSocket APIs (published quotas), shorter in tests.</summary>
public sealed record WebSocketLimits
{
    public int MaxFrameBytes { get; init; } = 32 * 1024;

    public int MaxMessageBytes { get; init; } = 128 * 1024;

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan MaxConnectionDuration { get; init; } = TimeSpan.FromHours(2);
}

/// <summary>How the gateway is set up: where it listens, its routes, and where the integration lives.</summary>
public sealed record WebSocketGatewayOptions
{
    public string Url { get; init; } = "http://localhost:5001";

    public string Stage { get; init; } = "local";

    /// <summary>Route keys besides $connect, $disconnect and $default (from template.yaml's routes).</summary>
    public IReadOnlySet<string> Routes { get; init; } = new HashSet<string>();

    public WebSocketLimits Limits { get; init; } = new();

    /// <summary>
    /// The one identity whose SigV4 signature the <c>@connections</c> API accepts: the credentials the local host
    /// gives its functions (by default the emulators' <c>local</c> / <c>local</c>).
    /// </summary>
    public Func<AWSCredentials> Credentials { get; init; } =
        () => new BasicAWSCredentials(Cloud.LocalCloud.AccessKeyId, Cloud.LocalCloud.SecretAccessKey);
}

/// <summary>
/// Plays an API Gateway WebSocket API on its own endpoint: accepts clients, gives each a connection id,
/// posts $connect / $disconnect / route events to the integration (the Functions app's POST /events) in API
/// Gateway's event JSON, honours the $connect result, selects routes on <c>$request.body.action</c>, serves
/// the <c>@connections</c> management API (POST to send, GET for info, DELETE to disconnect; SigV4-signed by
/// the accepted identity or 403 ForbiddenException; GoneException 410 for gone ids), and enforces API Gateway's
/// frame, message, idle and duration limits.
/// </summary>
public sealed class WebSocketGateway : IAsyncDisposable
{
    public const string ApiId = "local";

    private readonly WebSocketGatewayOptions _options;
    private readonly Func<Uri> _integration;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ConcurrentDictionary<string, Connection> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private readonly ManagementApiSignature _signature;
    private WebApplication? _app;

    private WebSocketGateway(WebSocketGatewayOptions options, Func<Uri> integration, ILogger logger)
    {
        _options = options;
        _integration = integration;
        _logger = logger;
        _signature = new ManagementApiSignature(options.Credentials, TimeProvider.System);
    }

    /// <summary>Where clients connect (ws://...).</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The management API's base URL, as a function gets it: https://{api}/{stage} on AWS.</summary>
    public Uri CallbackUrl => new($"http://{Endpoint.Authority}/{_options.Stage}");

    public int OpenConnections => _connections.Count;

    /// <summary>Starts listening; <paramref name="integration"/> gives the URL that events are posted to.</summary>
    public static async Task<WebSocketGateway> StartAsync(WebSocketGatewayOptions options, Func<Uri> integration,
        ILogger logger, CancellationToken cancellationToken = default)
    {
        var gateway = new WebSocketGateway(options, integration, logger);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(options.Url);
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.MapPost("/{stage}/@connections/{connectionId}", gateway.PostToConnectionAsync);
        app.MapGet("/{stage}/@connections/{connectionId}", gateway.GetConnectionAsync);
        app.MapDelete("/{stage}/@connections/{connectionId}", gateway.DeleteConnectionAsync);
        app.Map("/{**path}", gateway.AcceptAsync);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new Cloud.SetupException($"{options.Url} (WebSocket API) is already in use; pass --websocket-url http://localhost:<free port>.", e);
        }

        gateway._app = app;
        var address = app.Urls.First();
        gateway.Endpoint = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal)
            .Replace("://[::]", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal));
        return gateway;
    }

    private async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsJsonAsync(new { message = "This is a WebSocket API: connect with a WebSocket client." });
            return;
        }

        var connectionId = NewConnectionId();
        var connectedAt = DateTimeOffset.UtcNow;
        var identity = new Identity(context.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1", context.Request.Headers.UserAgent.ToString());
        var connect = Event("$connect", "CONNECT", connectionId, connectedAt, identity);
        AddRequest(connect, context.Request);

        var (status, result) = await InvokeAsync(connect, context.RequestAborted);
        if (status is < 200 or > 299)
        {
            // API Gateway answers the upgrade request with the integration's status and no WebSocket.
            context.Response.StatusCode = status is >= 400 and < 600 ? status : StatusCodes.Status500InternalServerError;
            await context.Response.WriteAsJsonAsync(new { message = status == 401 ? "Unauthorized" : "Forbidden", connectionId });
            return;
        }

        var subProtocol = result?["headers"]?["Sec-WebSocket-Protocol"]?.GetValue<string>()
            ?? result?["headers"]?["sec-websocket-protocol"]?.GetValue<string>();
        using var socket = await context.WebSockets.AcceptWebSocketAsync(subProtocol);
        using var connection = new Connection(connectionId, socket, connectedAt, identity);
        _connections[connectionId] = connection;
        try
        {
            await ReceiveLoopAsync(connection);
        }
        finally
        {
            _connections.TryRemove(connectionId, out _);
            var disconnect = Event("$disconnect", "DISCONNECT", connectionId, connectedAt, identity);
            var context2 = disconnect["requestContext"]!.AsObject();
            context2["disconnectStatusCode"] = (int?)connection.CloseStatus ?? (int)WebSocketCloseStatus.EndpointUnavailable;
            context2["disconnectReason"] = connection.CloseReason ?? "";
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await InvokeAsync(disconnect, timeout.Token);
        }
    }

    private async Task ReceiveLoopAsync(Connection connection)
    {
        var limits = _options.Limits;
        var buffer = new byte[limits.MaxFrameBytes + 1];
        using var message = new MemoryStream();
        using var done = new CancellationTokenSource();
        var watchdog = WatchAsync(connection, done.Token);
        try
        {
            while (true)
            {
                WebSocketReceiveResult received;
                try
                {
                    received = await connection.Socket.ReceiveAsync(buffer, CancellationToken.None);
                }
                catch (WebSocketException)
                {
                    connection.CloseReason ??= "Client went away";
                    return;
                }

                if (received.MessageType == WebSocketMessageType.Close)
                {
                    connection.CloseStatus ??= received.CloseStatus;
                    connection.CloseReason ??= received.CloseStatusDescription ?? "Client closed";
                    await connection.CloseAsync(received.CloseStatus ?? WebSocketCloseStatus.NormalClosure, "Bye");
                    return;
                }

                connection.Touch();
                if (received.Count > limits.MaxFrameBytes)
                {
                    await connection.CloseAsync(WebSocketCloseStatus.MessageTooBig, "Frame size limit exceeded");
                    continue;
                }

                message.Write(buffer, 0, received.Count);
                if (message.Length > limits.MaxMessageBytes)
                {
                    message.SetLength(0);
                    await connection.CloseAsync(WebSocketCloseStatus.MessageTooBig, "Message too long");
                    continue;
                }

                if (received.EndOfMessage && connection.Socket.State == WebSocketState.Open)
                {
                    var body = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                    message.SetLength(0);
                    await RouteAsync(connection, body, received.MessageType == WebSocketMessageType.Binary);
                }
            }
        }
        finally
        {
            await done.CancelAsync();
            await watchdog;
        }
    }

    /// <summary>
    /// Closes the connection when it has been idle too long, has lived its maximum, was deleted through the
    /// management API, or the gateway stops; aborts it if the client does not answer the close handshake.
    /// </summary>
    private async Task WatchAsync(Connection connection, CancellationToken done)
    {
        var limits = _options.Limits;
        var interval = TimeSpan.FromMilliseconds(Math.Clamp(limits.IdleTimeout.TotalMilliseconds / 4, 10, 1000));
        try
        {
            while (!done.IsCancellationRequested)
            {
                await Task.Delay(interval, done);
                var now = DateTimeOffset.UtcNow;
                var (status, reason) =
                    connection.Closing.IsCancellationRequested ? (WebSocketCloseStatus.NormalClosure, "Disconnected by the management API")
                    : _stopping.IsCancellationRequested ? (WebSocketCloseStatus.EndpointUnavailable, "Going away")
                    : now - connection.ConnectedAt >= limits.MaxConnectionDuration ? (WebSocketCloseStatus.EndpointUnavailable, "Connection duration exceeded")
                    : now - connection.LastActiveAt >= limits.IdleTimeout ? (WebSocketCloseStatus.EndpointUnavailable, "Idle timeout")
                    : ((WebSocketCloseStatus?)null, "");
                if (status is { } close)
                {
                    await connection.CloseAsync(close, reason);
                    await Task.Delay(TimeSpan.FromSeconds(5), done);
                    connection.Socket.Abort();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RouteAsync(Connection connection, string body, bool binary)
    {
        var routeKey = SelectRoute(body, _options.Routes);
        var evt = Event(routeKey, "MESSAGE", connection.Id, connection.ConnectedAt, connection.Identity);
        evt["requestContext"]!["messageId"] = NewConnectionId();
        evt["body"] = binary ? Convert.ToBase64String(Encoding.UTF8.GetBytes(body)) : body;
        evt["isBase64Encoded"] = binary;
        var (_, result) = await InvokeAsync(evt, _stopping.Token);

        // A route's integration response reaches the client when the function returns a body (two-way route).
        if (result?["body"] is JsonValue reply && reply.GetValue<string>() is { Length: > 0 } text)
        {
            await connection.SendAsync(Encoding.UTF8.GetBytes(text), _stopping.Token);
        }
    }

    /// <summary>API Gateway's route selection on <c>$request.body.action</c>, falling back to $default.</summary>
    public static string SelectRoute(string body, IReadOnlySet<string> routes)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("action", out var action)
                && action.ValueKind == JsonValueKind.String
                && action.GetString() is { } key
                && routes.Contains(key))
            {
                return key;
            }
        }
        catch (JsonException)
        {
        }

        return "$default";
    }

    private async Task<(int Status, JsonNode? Result)> InvokeAsync(JsonObject evt, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.PostAsync(_integration(), new StringContent(evt.ToJsonString(), Encoding.UTF8, "application/json"), cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonNode? result = null;
            try
            {
                result = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (JsonException)
            {
                // The Web Adapter turns a non-JSON body into null: so do we.
            }

            // What Lambda returns decides, as it does behind the Web Adapter (the HTTP status is dropped),
            // unless the status is one that fails the invocation.
            if ((int)response.StatusCode >= 500)
            {
                return (502, result);
            }

            var status = result?["statusCode"] is JsonValue code && code.TryGetValue<int>(out var value) ? value : 200;
            return (status, result);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            _logger.LogWarning(e, "WebSocket integration call for {RouteKey} failed", evt["requestContext"]?["routeKey"]?.GetValue<string>());
            return (502, null);
        }
    }

    private async Task PostToConnectionAsync(HttpContext context, string connectionId)
    {
        if (await ReadSignedAsync(context) is not { } body)
        {
            return;
        }

        if (!_connections.TryGetValue(connectionId, out var connection))
        {
            await Gone(context, connectionId);
            return;
        }

        if (body.Length > _options.Limits.MaxMessageBytes)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            context.Response.Headers["x-amzn-ErrorType"] = "PayloadTooLargeException";
            await context.Response.WriteAsJsonAsync(new { message = "PayloadTooLargeException" });
            return;
        }

        try
        {
            await connection.SendAsync(body, context.RequestAborted);
            context.Response.StatusCode = StatusCodes.Status200OK;
        }
        catch (Exception e) when (e is WebSocketException or InvalidOperationException)
        {
            await Gone(context, connectionId);
        }
    }

    private async Task GetConnectionAsync(HttpContext context, string connectionId)
    {
        if (await ReadSignedAsync(context) is null)
        {
            return;
        }

        if (!_connections.TryGetValue(connectionId, out var connection))
        {
            await Gone(context, connectionId);
            return;
        }

        await context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["connectedAt"] = connection.ConnectedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["identity"] = new JsonObject { ["sourceIp"] = connection.Identity.SourceIp, ["userAgent"] = connection.Identity.UserAgent },
            ["lastActiveAt"] = connection.LastActiveAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    private async Task DeleteConnectionAsync(HttpContext context, string connectionId)
    {
        if (await ReadSignedAsync(context) is null)
        {
            return;
        }

        if (!_connections.TryGetValue(connectionId, out var connection))
        {
            await Gone(context, connectionId);
            return;
        }

        connection.Closing.Cancel();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>
    /// The body of a request signed by the accepted identity; otherwise null, with the 403 API Gateway answers
    /// (x-amzn-ErrorType and a JSON message) already written. Read in full, as the signature covers it.
    /// </summary>
    private async Task<byte[]?> ReadSignedAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var bytes = body.ToArray();
        if (await _signature.VerifyAsync(context.Request, bytes, context.RequestAborted) is not { } rejection)
        {
            return bytes;
        }

        _logger.LogWarning("@connections {Method} {Path} refused: {ErrorType} {Message}", context.Request.Method, context.Request.Path.Value,
            rejection.ErrorType, rejection.Message);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.Headers["x-amzn-ErrorType"] = rejection.ErrorType;
        await context.Response.WriteAsJsonAsync(new { message = rejection.Message });
        return null;
    }

    private static Task Gone(HttpContext context, string connectionId)
    {
        context.Response.StatusCode = StatusCodes.Status410Gone;
        context.Response.Headers["x-amzn-ErrorType"] = "GoneException";
        return context.Response.WriteAsJsonAsync(new { message = (string?)null, connectionId });
    }

    private JsonObject Event(string routeKey, string eventType, string connectionId, DateTimeOffset connectedAt, Identity identity)
    {
        var now = DateTimeOffset.UtcNow;
        return new JsonObject
        {
            ["requestContext"] = new JsonObject
            {
                ["routeKey"] = routeKey,
                ["eventType"] = eventType,
                ["extendedRequestId"] = NewConnectionId(),
                ["requestTime"] = now.ToString("dd/MMM/yyyy:HH:mm:ss +0000", System.Globalization.CultureInfo.InvariantCulture),
                ["messageDirection"] = "IN",
                ["stage"] = _options.Stage,
                ["connectedAt"] = connectedAt.ToUnixTimeMilliseconds(),
                ["requestTimeEpoch"] = now.ToUnixTimeMilliseconds(),
                ["identity"] = new JsonObject { ["sourceIp"] = identity.SourceIp, ["userAgent"] = identity.UserAgent },
                ["requestId"] = NewConnectionId(),
                ["domainName"] = Endpoint.Authority,
                ["connectionId"] = connectionId,
                ["apiId"] = ApiId,
            },
            ["isBase64Encoded"] = false,
        };
    }

    private static void AddRequest(JsonObject evt, HttpRequest request)
    {
        var headers = new JsonObject();
        var multiHeaders = new JsonObject();
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = values.ToString();
            multiHeaders[name] = new JsonArray([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);
        }

        evt["headers"] = headers;
        evt["multiValueHeaders"] = multiHeaders;
        if (request.Query.Count > 0)
        {
            evt["queryStringParameters"] = new JsonObject(request.Query.Select(q => KeyValuePair.Create(q.Key, (JsonNode?)JsonValue.Create(q.Value.ToString()))));
            evt["multiValueQueryStringParameters"] = new JsonObject(request.Query.Select(q =>
                KeyValuePair.Create(q.Key, (JsonNode?)new JsonArray([.. q.Value.Select(v => (JsonNode?)JsonValue.Create(v))]))));
        }
    }

    /// <summary>Connection ids look like API Gateway's: 12 random bytes, base64.</summary>
    private static string NewConnectionId() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('/', '_').Replace('+', '-');

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
        }

        _http.Dispose();
        _stopping.Dispose();
    }

    private sealed record Identity(string SourceIp, string UserAgent);

    private sealed class Connection(string id, WebSocket socket, DateTimeOffset connectedAt, Identity identity) : IDisposable
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public string Id { get; } = id;

        public WebSocket Socket { get; } = socket;

        public DateTimeOffset ConnectedAt { get; } = connectedAt;

        public Identity Identity { get; } = identity;

        public DateTimeOffset LastActiveAt { get; private set; } = connectedAt;

        public CancellationTokenSource Closing { get; } = new();

        public WebSocketCloseStatus? CloseStatus { get; set; }

        public string? CloseReason { get; set; }

        public void Touch() => LastActiveAt = DateTimeOffset.UtcNow;

        public void Dispose()
        {
            _send.Dispose();
            Closing.Dispose();
        }

        public async Task SendAsync(byte[] data, CancellationToken cancellationToken)
        {
            await _send.WaitAsync(cancellationToken);
            try
            {
                await Socket.SendAsync(data, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                Touch();
            }
            finally
            {
                _send.Release();
            }
        }

        public async Task CloseAsync(WebSocketCloseStatus status, string reason)
        {
            CloseStatus ??= status;
            CloseReason ??= reason;
            try
            {
                if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await Socket.CloseOutputAsync(status, reason, timeout.Token);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The client is gone already.
            }
        }
    }
}
