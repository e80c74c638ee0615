using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// Per-client fixed-window rate limiting shared by every instance of every function, and the deny-list check: the
/// client's own item in the rate-limits table ("client#&lt;client&gt;") holds the current window (<c>windowStart</c>,
/// <c>windowSeconds</c>), its <c>count</c> and the client's revoked tokens (<see cref="DenyList"/>).
/// <para>
/// A counting write reserves numbers in the window (<c>ADD #count :n</c>, ReturnValues ALL_NEW): the numbers up to
/// the limit are this instance's to give out, one per request in arrival order, and the item it returns says which
/// of the client's tokens are revoked. What that write read stays good for <see cref="AdmissionLease"/> from the
/// moment it was sent, and <see cref="DenyList.DenyAsync"/> answers only that long after its own write: so a request
/// that starts after a revocation has returned never meets a read from before it, and is refused, on every instance.
/// Within the lease a request whose token is not revoked takes the next reserved number without a DynamoDB call;
/// past it, or when the numbers run out, requests wait for the next write, which reserves what they need and, on
/// an instance that has been serving the client, about one lease's worth more at the rate it served (at most a
/// tenth of the limit). So the limit is never exceeded across instances; numbers reserved and not used when the
/// window ends are lost, at most a lease's worth of traffic per busy instance, and RateLimit-Remaining counts them
/// as taken. A Lambda instance that serves one request at a time makes one write per request until it has a rate
/// to reserve for.
/// </para>
/// <para>
/// Requests that arrive while a write for their client is in flight wait for the next one, which serves them all.
/// When the window is new, the write that starts it (once per window and client, by whichever instance comes first)
/// reserves as the counting write would. Once an instance has seen a window exhausted it refuses the rest of that
/// window without asking DynamoDB at all. Leases are System.Threading.RateLimiting leases carrying the limit, what
/// remains and when the window resets.
/// </para>
/// </summary>
public sealed class ClientRateLimiter(IAmazonDynamoDB dynamo, ResourceNames names, TimeProvider time)
{
    public static readonly MetadataName<long> Limit = MetadataName.Create<long>("RateLimit-Limit");
    public static readonly MetadataName<long> Remaining = MetadataName.Create<long>("RateLimit-Remaining");
    public static readonly MetadataName<long> Reset = MetadataName.Create<long>("RateLimit-Reset");
    public static readonly MetadataName<string> Policy = MetadataName.Create<string>("RateLimit-Policy");

    /// <summary>How long what one counting write read of the deny-list admits requests; a revocation answers after it.</summary>
    public static readonly TimeSpan AdmissionLease = TimeSpan.FromSeconds(1);

    /// <summary>Attempts at counting a request while other requests start the same window.</summary>
    private const int MaxAttempts = 3;

    /// <summary>Most numbers one write reserves ahead of the requests waiting for it.</summary>
    private const long MaxAhead = 10_000;

    private readonly ConcurrentDictionary<string, string> _exhausted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ClientQueue> _queues = new(StringComparer.Ordinal);

    public static Dictionary<string, AttributeValue> ClientKey(string clientId) => new() { ["pk"] = new AttributeValue { S = "client#" + clientId } };

    /// <summary>Counts the request of <paramref name="clientId"/> made with token <paramref name="tokenId"/>.</summary>
    public async ValueTask<Admission> AdmitAsync(string clientId, string tokenId, RateLimit limit, CancellationToken cancellationToken = default)
    {
        var request = Request.Of(tokenId, limit, time.GetUtcNow());
        if (_exhausted.TryGetValue(clientId, out var exhaustedWindow) && exhaustedWindow == request.Window)
        {
            return new(new Lease(false, limit, 0, request.Reset), Revoked: false);
        }

        var queue = _queues.GetOrAdd(clientId, _ => new ClientQueue());
        List<Request>? batch = null;
        lock (queue)
        {
            if (Serve(clientId, queue, request, time.GetTimestamp()) is { } served)
            {
                return served;
            }

            queue.Pending.Add(request);
            if (!queue.Writing)
            {
                queue.Writing = true;
                batch = queue.Take();
            }
        }

        if (batch is not null)
        {
            _ = RunAsync(clientId, queue, batch);
        }

        return await request.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Counts a batch, then the requests that arrived meanwhile, until none is waiting.</summary>
    private async Task RunAsync(string clientId, ClientQueue queue, List<Request> batch)
    {
        while (true)
        {
            try
            {
                await CountAsync(clientId, queue, batch);
            }
            catch (Exception e)
            {
                foreach (var request in batch)
                {
                    request.Done.TrySetException(e);
                }
            }

            lock (queue)
            {
                // Those that came during the write may find what it reserved; the rest make the next write.
                var now = time.GetTimestamp();
                var waiting = new List<Request>();
                foreach (var request in queue.Pending)
                {
                    if (Serve(clientId, queue, request, now) is { } served)
                    {
                        request.Done.TrySetResult(served);
                    }
                    else
                    {
                        waiting.Add(request);
                    }
                }

                queue.Pending = waiting;
                if (queue.Pending.Count == 0)
                {
                    queue.Writing = false;
                    return;
                }

                batch = queue.Take();
            }
        }
    }

    /// <summary>
    /// The request's answer from what the last write read and reserved, or null when that cannot say: another
    /// window, a lease run out, no number left. Called under the queue's lock.
    /// </summary>
    private Admission? Serve(string clientId, ClientQueue queue, Request request, long now)
    {
        if (queue.ViewOf(request.Window) is not { } view || time.GetElapsedTime(view.SentAt, now) >= AdmissionLease)
        {
            return null;
        }

        if (view.Revoked.Contains(request.TokenId))
        {
            return new(new Lease(false, request.Limit, 0, request.Reset), Revoked: true);
        }

        if (!view.TryTake(out var number))
        {
            return null;
        }

        return Counted(clientId, request, number);
    }

    /// <summary>
    /// One write for the batch (two when it starts the window): it reserves the numbers the batch needs, and ahead,
    /// and reads the client's revoked tokens; then every request of the batch is answered from what it read.
    /// Not cancelled with its callers: the write serves requests that are still waiting.
    /// </summary>
    private async Task CountAsync(string clientId, ClientQueue queue, List<Request> batch)
    {
        var first = batch[0];
        long wanted;
        long kept;
        lock (queue)
        {
            var previous = queue.ViewOf(first.Window);
            kept = previous?.Left ?? 0;
            wanted = Math.Max(0, batch.Count + Ahead(previous, first.Limit) - kept);
        }

        var sentAt = time.GetTimestamp();
        var (item, reserved, uncounted) = await ReserveAsync(clientId, first, wanted);
        lock (queue)
        {
            var view = queue.ViewOf(first.Window) ?? new AdmissionView(first.Window);
            view.Renew(sentAt, DenyList.Revoked(item), reserved, first.Limit.Requests);
            queue.View = view;
            foreach (var request in batch)
            {
                request.Done.TrySetResult(Serve(clientId, queue, request, sentAt)
                    ?? (uncounted
                        // The item's window has moved on (another instance's clock is ahead): these requests belong to
                        // the window ending now, and pass as its last ones.
                        ? new(new Lease(true, request.Limit, 0, request.Reset), Revoked: false)
                        : Counted(clientId, request, first.Limit.Requests + 1)));
            }
        }
    }

    /// <summary>About one lease's worth of requests at the rate this instance served the client since its last write.</summary>
    private long Ahead(AdmissionView? previous, RateLimit limit)
    {
        if (previous is null || previous.UsedSinceRenewal == 0)
        {
            return 0;
        }

        var elapsed = Math.Max(time.GetElapsedTime(previous.SentAt).TotalMilliseconds, 1);
        var ahead = (long)Math.Ceiling(previous.UsedSinceRenewal * AdmissionLease.TotalMilliseconds / elapsed);
        return Math.Min(ahead, Math.Min(MaxAhead, limit.Requests / 10));
    }

    /// <summary>
    /// Adds <paramref name="wanted"/> to the window's count (starting the window when it is new): the item as the
    /// write left it, the numbers it reserved (the last <paramref name="wanted"/> up to the new count), and whether
    /// the request's window is already over on the item (another instance's clock is ahead: nothing counted).
    /// </summary>
    private async Task<(Dictionary<string, AttributeValue> Item, (long From, long To) Reserved, bool Uncounted)> ReserveAsync(
        string clientId, Request request, long wanted)
    {
        var cancellationToken = CancellationToken.None;
        var values = new Dictionary<string, AttributeValue>
        {
            [":n"] = Number(wanted),
            [":start"] = Number(request.Start),
            [":size"] = Number(request.Limit.WindowSeconds),
        };
        for (var attempt = 1; ; attempt++)
        {
            Dictionary<string, AttributeValue> old;
            try
            {
                var counted = await dynamo.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = names.RateLimitsTable,
                    Key = ClientKey(clientId),
                    UpdateExpression = "ADD #count :n",
                    ConditionExpression = "#start = :start AND #size = :size",
                    ExpressionAttributeNames = CounterNames(),
                    ExpressionAttributeValues = values,
                    ReturnValues = ReturnValue.ALL_NEW,
                    ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                }, cancellationToken);
                return (counted.Attributes, Reserved(counted.Attributes, wanted), false);
            }
            catch (ConditionalCheckFailedException e)
            {
                // DynamoDB returns the item with the failure; an emulator that does not is asked for it.
                old = e.Item is { Count: > 0 } item ? item : await ReadAsync(clientId, cancellationToken) ?? [];
            }

            if (old.TryGetValue("windowStart", out var oldStart) && long.Parse(oldStart.N, CultureInfo.InvariantCulture) > request.Start)
            {
                // Another instance's clock is already in the next window: these requests belong to the one ending now.
                return (old, (1, 0), true);
            }

            try
            {
                var started = await dynamo.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = names.RateLimitsTable,
                    Key = ClientKey(clientId),
                    UpdateExpression = "SET #start = :start, #size = :size, #count = :n",
                    ConditionExpression = "attribute_not_exists(#start) OR #start < :start OR #size <> :size",
                    ExpressionAttributeNames = CounterNames(),
                    ExpressionAttributeValues = values,
                    ReturnValues = ReturnValue.ALL_NEW,
                }, cancellationToken);
                return (started.Attributes, Reserved(started.Attributes, wanted), false);
            }
            catch (ConditionalCheckFailedException) when (attempt < MaxAttempts)
            {
                // Another request started the window in between: count again.
            }
            catch (ConditionalCheckFailedException)
            {
                // Still racing other requests for the window's start: let these through, unless their token is revoked.
                return (await ReadAsync(clientId, cancellationToken) ?? [], (1, 0), true);
            }
        }
    }

    private static (long From, long To) Reserved(Dictionary<string, AttributeValue> item, long wanted)
    {
        var count = long.Parse(item["count"].N, CultureInfo.InvariantCulture);
        return (count - wanted + 1, count);
    }

    /// <summary>The attribute names of the counting writes (the window and the count), a dictionary of each request's own.</summary>
    private static Dictionary<string, string> CounterNames() => new()
    {
        ["#count"] = "count",
        ["#start"] = "windowStart",
        ["#size"] = "windowSeconds",
    };

    private Admission Counted(string clientId, Request request, long number)
    {
        var limit = request.Limit;
        if (number >= limit.Requests)
        {
            _exhausted[clientId] = request.Window;
        }

        return new(new Lease(number <= limit.Requests, limit, Math.Max(0, limit.Requests - number), request.Reset), Revoked: false);
    }

    private async Task<Dictionary<string, AttributeValue>?> ReadAsync(string clientId, CancellationToken cancellationToken) =>
        (await dynamo.GetItemAsync(new GetItemRequest { TableName = names.RateLimitsTable, Key = ClientKey(clientId), ConsistentRead = true },
            cancellationToken)).Item;

    private static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    /// <summary>A request waiting to be counted, with the window it arrived in.</summary>
    private sealed record Request(string TokenId, RateLimit Limit, long Start, string Window, long Reset)
    {
        public TaskCompletionSource<Admission> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static Request Of(string tokenId, RateLimit limit, DateTimeOffset now)
        {
            var start = now.ToUnixTimeSeconds() / limit.WindowSeconds * limit.WindowSeconds;
            var end = DateTimeOffset.FromUnixTimeSeconds(start + limit.WindowSeconds);
            return new(tokenId, limit, start, string.Create(CultureInfo.InvariantCulture, $"{limit.WindowSeconds}#{start}"),
                Math.Max(1, (long)Math.Ceiling((end - now).TotalSeconds)));
        }
    }

    /// <summary>
    /// What this instance last read of one client in one window: when the write was sent, the revoked tokens, and
    /// the numbers it reserved and has not given out yet. Guarded by its queue's lock.
    /// </summary>
    private sealed class AdmissionView(string window)
    {
        /// <summary>Ranges of reserved numbers not given out yet, lowest first.</summary>
        private readonly List<(long From, long To)> _numbers = [];

        public string Window { get; } = window;

        public long SentAt { get; private set; }

        public HashSet<string> Revoked { get; private set; } = new(StringComparer.Ordinal);

        public long UsedSinceRenewal { get; private set; }

        public long Left => _numbers.Sum(r => r.To - r.From + 1);

        public void Renew(long sentAt, HashSet<string> revoked, (long From, long To) reserved, long limit)
        {
            (SentAt, Revoked, UsedSinceRenewal) = (sentAt, revoked, 0);
            // Numbers past the limit admit nothing: keep only those a request may take.
            var to = Math.Min(reserved.To, limit);
            if (reserved.From <= to)
            {
                _numbers.Add((reserved.From, to));
            }
        }

        public bool TryTake(out long number)
        {
            if (_numbers.Count == 0)
            {
                number = 0;
                return false;
            }

            var (from, to) = _numbers[0];
            number = from;
            if (from < to)
            {
                _numbers[0] = (from + 1, to);
            }
            else
            {
                _numbers.RemoveAt(0);
            }

            UsedSinceRenewal++;
            return true;
        }
    }

    /// <summary>One client's requests waiting for the next write, whether one is in flight, and what the last one read.</summary>
    private sealed class ClientQueue
    {
        public List<Request> Pending { get; set; } = [];

        public bool Writing { get; set; }

        public AdmissionView? View { get; set; }

        /// <summary>What the last write read, if it was in <paramref name="window"/>.</summary>
        public AdmissionView? ViewOf(string window) => View is { } view && view.Window == window ? view : null;

        /// <summary>The waiting requests of the first one's window (another window's wait for the next write).</summary>
        public List<Request> Take()
        {
            var window = Pending[0].Window;
            var batch = Pending.Where(r => r.Window == window).ToList();
            Pending = Pending.Where(r => r.Window != window).ToList();
            return batch;
        }
    }

    private sealed class Lease(bool acquired, RateLimit limit, long remaining, long reset) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames =>
            acquired
                ? [Limit.Name, Remaining.Name, Reset.Name, Policy.Name]
                : [Limit.Name, Remaining.Name, Reset.Name, Policy.Name, MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            if (metadataName == Limit.Name)
            {
                metadata = (long)limit.Requests;
            }
            else if (metadataName == Remaining.Name)
            {
                metadata = remaining;
            }
            else if (metadataName == Reset.Name)
            {
                metadata = reset;
            }
            else if (metadataName == Policy.Name)
            {
                metadata = string.Create(CultureInfo.InvariantCulture, $"{limit.Requests};w={limit.WindowSeconds}");
            }
            else if (metadataName == MetadataName.RetryAfter.Name && !acquired)
            {
                metadata = TimeSpan.FromSeconds(reset);
            }

            return metadata is not null;
        }
    }
}

/// <summary>The rate-limit lease of a request, and whether its token turned out to be revoked.</summary>
public sealed record Admission(RateLimitLease Lease, bool Revoked);

/// <summary>
/// Applies <see cref="ClientRateLimiter"/> and the deny-list to every request that carries a valid access token, in
/// at most one DynamoDB call (none while the instance holds numbers reserved for the client): a revoked token is
/// refused with 401 as JwtBearer would, a client over its limit with 429.
/// </summary>
internal static class ClientRateLimitingMiddleware
{
    public static IApplicationBuilder UseClientRateLimiting(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated != true || context.User.FindFirst(AuthClaims.TokenId)?.Value is not { Length: > 0 } tokenId)
            {
                await next(context);
                return;
            }

            var clientId = context.User.ClientId();
            if (context.User.RateLimit() is not { } limit)
            {
                if (await context.RequestServices.GetRequiredService<DenyList>().IsDeniedAsync(tokenId, clientId, context.RequestAborted))
                {
                    await AuthSetup.RefuseTokenAsync(context, AccessTokenValidator.Revoked);
                    return;
                }

                await next(context);
                return;
            }

            var limiter = context.RequestServices.GetRequiredService<ClientRateLimiter>();
            var admission = await limiter.AdmitAsync(clientId, tokenId, limit, context.RequestAborted);
            using var lease = admission.Lease;
            if (admission.Revoked)
            {
                await AuthSetup.RefuseTokenAsync(context, AccessTokenValidator.Revoked);
                return;
            }

            WriteHeaders(context.Response, lease);
            if (lease.IsAcquired)
            {
                await next(context);
                return;
            }

            context.RequestServices.GetRequiredService<Metrics>().Count(Metrics.RateLimited);
            var reset = lease.TryGetMetadata(ClientRateLimiter.Reset, out var seconds) ? seconds : 1;
            context.Response.Headers.RetryAfter = reset.ToString(CultureInfo.InvariantCulture);
            await Problems.Problem(StatusCodes.Status429TooManyRequests, "too-many-requests", "Too many requests",
                $"This client may make {limit.Requests} requests per {limit.WindowSeconds} s; try again in {reset} s.").ExecuteAsync(context);
        });

    private static void WriteHeaders(HttpResponse response, RateLimitLease lease)
    {
        foreach (var name in new[] { ClientRateLimiter.Limit, ClientRateLimiter.Remaining, ClientRateLimiter.Reset })
        {
            if (lease.TryGetMetadata(name, out var value))
            {
                response.Headers[name.Name] = value.ToString(CultureInfo.InvariantCulture);
            }
        }

        if (lease.TryGetMetadata(ClientRateLimiter.Policy, out var policy) && policy is not null)
        {
            response.Headers[ClientRateLimiter.Policy.Name] = policy;
        }
    }
}
