using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace OrderProcessing.Bench;

/// <summary>
/// Counts every HTTP request this process sends while <see cref="Counting"/> is on, from System.Net.Http's own
/// diagnostic events (the layer under every HttpClient). Every AWS SDK client sends through HttpClient, and so do
/// the app's @connections client, the local stream poller and the local event source mappings posting to the app;
/// so this sees each AWS call the system makes, whoever makes it, and each function invocation.
/// </summary>
/// <remarks>
/// A request is named from what it went to: the DynamoDB and SQS emulators by their X-Amz-Target header
/// (DynamoDB_20120810.PutItem, DynamoDBStreams_20120810.GetRecords, AmazonSQS.SendMessage, TrentService.Sign),
/// the WebSocket gateway's management API by its path, and the app by its path: POST /events is one Lambda
/// invocation by an event source (named by the function the event's source maps to), anything else an HTTP API
/// request. An SQS ReceiveMessage is split into the ones that returned messages and the empty ones (pollers
/// waiting), because only the first scale with orders.
/// </remarks>
internal sealed partial class AwsCallMeter : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private readonly ConcurrentDictionary<string, Tally> _tallies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<HttpRequestMessage, (long Started, string? Function)> _inFlight = new();
    private readonly List<IDisposable> _subscriptions = [];
    private readonly IDisposable _allListeners;
    private readonly Endpoints _endpoints;

    public AwsCallMeter(Endpoints endpoints)
    {
        _endpoints = endpoints;
        _allListeners = DiagnosticListener.AllListeners.Subscribe(this);
    }

    /// <summary>Where each service answers, and which function each event source invokes.</summary>
    public sealed record Endpoints(string DynamoDb, string Sqs, string WebSocketManagement, string App, IReadOnlyDictionary<string, string> FunctionByEventSourceArn);

    /// <summary>How many requests, and their summed duration.</summary>
    public sealed record Count(long Requests, TimeSpan Time)
    {
        public static Count operator +(Count a, Count b) => new(a.Requests + b.Requests, a.Time + b.Time);
    }

    private sealed class Tally
    {
        private long _count;
        private long _ticks;

        public long Count => Interlocked.Read(ref _count);

        public TimeSpan Time => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public void Add(TimeSpan elapsed)
        {
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _ticks, elapsed.Ticks);
        }
    }

    private bool _counting;

    public bool Counting
    {
        get => Volatile.Read(ref _counting);
        set => Volatile.Write(ref _counting, value);
    }

    /// <summary>What was counted so far, by "service operation"; the time is the sum of the requests' durations.</summary>
    public IReadOnlyDictionary<string, Count> Snapshot() =>
        _tallies.ToDictionary(t => t.Key, t => new Count(t.Value.Count, t.Value.Time), StringComparer.Ordinal);

    public void Reset() => _tallies.Clear();

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == "HttpHandlerDiagnosticListener")
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this));
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (!Counting)
        {
            return;
        }

        switch (value.Key)
        {
            case "System.Net.Http.HttpRequestOut.Start" when Property<HttpRequestMessage>(value.Value, "Request") is { } request:
                _inFlight[request] = (Stopwatch.GetTimestamp(), FunctionOf(request));
                break;
            case "System.Net.Http.HttpRequestOut.Stop" when Property<HttpRequestMessage>(value.Value, "Request") is { } request:
                if (_inFlight.TryRemove(request, out var started) && Name(request, Property<HttpResponseMessage>(value.Value, "Response"), started.Function) is { } name)
                {
                    _tallies.GetOrAdd(name, _ => new Tally()).Add(Stopwatch.GetElapsedTime(started.Started));
                }

                break;
        }
    }

    private string? Name(HttpRequestMessage request, HttpResponseMessage? response, string? function)
    {
        var authority = request.RequestUri?.Authority ?? "";
        var target = request.Headers.TryGetValues("X-Amz-Target", out var values) ? values.FirstOrDefault() ?? "" : "";
        if (authority == _endpoints.DynamoDb)
        {
            // A refused call (a failed condition, a transaction cancelled by a conflict) is counted apart from the ones that wrote.
            var refused = response?.StatusCode == System.Net.HttpStatusCode.BadRequest ? " (refused)" : "";
            return target.StartsWith("DynamoDBStreams_", StringComparison.Ordinal)
                ? $"DynamoDB Streams {target[(target.IndexOf('.', StringComparison.Ordinal) + 1)..]}{refused}"
                : $"DynamoDB {target[(target.IndexOf('.', StringComparison.Ordinal) + 1)..]}{refused}";
        }

        if (authority == _endpoints.Sqs)
        {
            var operation = target[(target.IndexOf('.', StringComparison.Ordinal) + 1)..];
            return operation == "ReceiveMessage" && response?.Content.Headers.ContentLength is < 40
                ? "SQS ReceiveMessage (empty)"
                : $"SQS {operation}";
        }

        if (target.StartsWith("TrentService.", StringComparison.Ordinal))
        {
            return $"KMS {target["TrentService.".Length..]}";
        }

        if (authority == _endpoints.WebSocketManagement)
        {
            return $"execute-api {request.Method} @connections";
        }

        if (authority == _endpoints.App)
        {
            var path = request.RequestUri!.AbsolutePath;
            return path == "/events"
                ? $"Lambda {function ?? "?"}"
                : $"HTTP API {request.Method} {IdPattern().Replace(path, "{id}")}";
        }

        return null;
    }

    /// <summary>The function an event is for: the one its source's ARN maps to, or the WebSocket function for a route event.</summary>
    private string? FunctionOf(HttpRequestMessage request)
    {
        if (request.RequestUri?.Authority != _endpoints.App || request.RequestUri.AbsolutePath != "/events" || request.Content is null)
        {
            return null;
        }

        // The event sources post buffered JSON, so reading it here costs no I/O.
        var body = request.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        if (ArnPattern().Match(body) is { Success: true } arn)
        {
            return _endpoints.FunctionByEventSourceArn.TryGetValue(arn.Groups[1].Value, out var name) ? name : arn.Groups[1].Value;
        }

        return RoutePattern().Match(body) is { Success: true } route ? $"WebSocket {route.Groups[1].Value}" : null;
    }

    private static T? Property<T>(object? payload, string name) where T : class =>
        payload?.GetType().GetProperty(name)?.GetValue(payload) as T;

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        _allListeners.Dispose();
        lock (_subscriptions)
        {
            _subscriptions.ForEach(s => s.Dispose());
        }
    }

    [GeneratedRegex("\"eventSourceARN\"\\s*:\\s*\"([^\"]+)\"")]
    private static partial Regex ArnPattern();

    [GeneratedRegex("\"routeKey\"\\s*:\\s*\"([^\"]+)\"")]
    private static partial Regex RoutePattern();

    [GeneratedRegex("/[0-9a-f]{8}-[0-9a-f-]{27,}")]
    private static partial Regex IdPattern();
}
