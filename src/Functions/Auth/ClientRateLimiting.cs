using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// Per-client fixed-window rate limiting shared by every instance of every function, and the deny-list check, in
/// one DynamoDB call per request: the client's own item in the rate-limits table ("client#&lt;client&gt;") holds the
/// current window (<c>windowStart</c>, <c>windowSeconds</c>), its <c>count</c> and the client's revoked tokens
/// (<see cref="DenyList"/>). One conditional UpdateItem adds the request to the window only if the window is
/// current and the token is not revoked; when the condition fails, the old item DynamoDB returns tells which:
/// a revoked token, or a new window, which a second conditional write starts (once per window and client, by
/// whichever request comes first). Once an instance has seen a window exhausted it refuses the rest of that window
/// without asking DynamoDB at all. Leases are System.Threading.RateLimiting leases carrying the limit, what
/// remains and when the window resets.
/// <para>
/// Requests of one client that arrive at one instance while its UpdateItem for that client is in flight wait for
/// the next one, which counts them all at once (<c>ADD #count :n</c>, conditioned on none of their tokens being
/// revoked) and numbers them in arrival order, exactly as n single writes would: the limit, the headers and the
/// revocation check are the same, since the write that admits a request starts after the request arrived. An
/// instance that serves one request at a time (a Lambda function) makes one write per request, as before; one
/// that serves many (the local host, a container) makes one per batch. A batch whose condition fails is counted
/// request by request.
/// </para>
/// </summary>
public sealed class ClientRateLimiter(IAmazonDynamoDB dynamo, ResourceNames names, TimeProvider time)
{
    public static readonly MetadataName<long> Limit = MetadataName.Create<long>("RateLimit-Limit");
    public static readonly MetadataName<long> Remaining = MetadataName.Create<long>("RateLimit-Remaining");
    public static readonly MetadataName<long> Reset = MetadataName.Create<long>("RateLimit-Reset");
    public static readonly MetadataName<string> Policy = MetadataName.Create<string>("RateLimit-Policy");

    /// <summary>Attempts at counting a request while other requests start the same window.</summary>
    private const int MaxAttempts = 3;

    /// <summary>Most requests one batched write counts (each distinct token adds a term to its condition).</summary>
    private const int MaxBatch = 32;

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
                await CountAsync(clientId, batch);
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
                if (queue.Pending.Count == 0)
                {
                    queue.Writing = false;
                    return;
                }

                batch = queue.Take();
            }
        }
    }

    private async Task CountAsync(string clientId, List<Request> batch)
    {
        var first = batch[0];
        if (batch.Count > 1 && batch.All(r => r.Limit == first.Limit && r.Start == first.Start))
        {
            var tokens = batch.Select(r => r.TokenId).Distinct(StringComparer.Ordinal).ToList();
            try
            {
                var counted = await dynamo.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = names.RateLimitsTable,
                    Key = ClientKey(clientId),
                    UpdateExpression = "ADD #count :n",
                    ConditionExpression = "#start = :start AND #size = :size AND "
                        + string.Join(" AND ", tokens.Select((_, i) => $"attribute_not_exists(#revoked.#jti{i})")),
                    ExpressionAttributeNames = CounterNames(tokens),
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                    {
                        [":n"] = Number(batch.Count),
                        [":start"] = Number(first.Start),
                        [":size"] = Number(first.Limit.WindowSeconds),
                    },
                    ReturnValues = ReturnValue.UPDATED_NEW,
                }, CancellationToken.None);
                var last = long.Parse(counted.Attributes["count"].N, CultureInfo.InvariantCulture);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(Counted(clientId, batch[i], last - batch.Count + 1 + i));
                }

                return;
            }
            catch (ConditionalCheckFailedException)
            {
                // A new window, or a revoked token among them: decide request by request.
            }
        }

        await Task.WhenAll(batch.Select(async request =>
        {
            try
            {
                request.Done.TrySetResult(await AdmitOneAsync(clientId, request));
            }
            catch (Exception e)
            {
                request.Done.TrySetException(e);
            }
        }));
    }

    /// <summary>
    /// Counts one request: the conditional write, and the window's start when the window is new. Not cancelled with
    /// its caller: the counting of a batch serves requests that are still waiting.
    /// </summary>
    private async Task<Admission> AdmitOneAsync(string clientId, Request request)
    {
        var (tokenId, limit, start, reset) = (request.TokenId, request.Limit, request.Start, request.Reset);
        var cancellationToken = CancellationToken.None;
        var attributeNames = CounterNames([tokenId]);
        var values = new Dictionary<string, AttributeValue>
        {
            [":one"] = Number(1),
            [":start"] = Number(start),
            [":size"] = Number(limit.WindowSeconds),
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
                    UpdateExpression = "ADD #count :one",
                    ConditionExpression = "#start = :start AND #size = :size AND attribute_not_exists(#revoked.#jti0)",
                    ExpressionAttributeNames = attributeNames,
                    ExpressionAttributeValues = values,
                    ReturnValues = ReturnValue.UPDATED_NEW,
                    ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                }, cancellationToken);
                return Counted(clientId, request, long.Parse(counted.Attributes["count"].N, CultureInfo.InvariantCulture));
            }
            catch (ConditionalCheckFailedException e)
            {
                // DynamoDB returns the item with the failure; an emulator that does not is asked for it.
                old = e.Item is { Count: > 0 } item ? item : await ReadAsync(clientId, cancellationToken) ?? [];
            }

            if (DenyList.IsDenied(old, tokenId))
            {
                return new(new Lease(false, limit, 0, reset), Revoked: true);
            }

            if (old.TryGetValue("windowStart", out var oldStart) && long.Parse(oldStart.N, CultureInfo.InvariantCulture) > start)
            {
                // Another instance's clock is already in the next window: this request belongs to the one ending now.
                return new(new Lease(true, limit, 0, reset), Revoked: false);
            }

            try
            {
                await dynamo.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = names.RateLimitsTable,
                    Key = ClientKey(clientId),
                    UpdateExpression = "SET #start = :start, #size = :size, #count = :one",
                    ConditionExpression = "(attribute_not_exists(#start) OR #start < :start OR #size <> :size) AND attribute_not_exists(#revoked.#jti0)",
                    ExpressionAttributeNames = attributeNames,
                    ExpressionAttributeValues = values,
                }, cancellationToken);
                return Counted(clientId, request, 1);
            }
            catch (ConditionalCheckFailedException) when (attempt < MaxAttempts)
            {
                // Another request started the window (or the token was revoked) in between: count again.
            }
            catch (ConditionalCheckFailedException)
            {
                // Still racing other requests for the window's start: let this one through, unless its token is revoked.
                return new(new Lease(true, limit, 0, reset), DenyList.IsDenied(await ReadAsync(clientId, cancellationToken), tokenId));
            }
        }
    }

    /// <summary>The attribute names of the counting writes: the window, the count and the deny-list entries #jti0… of <paramref name="tokens"/>.</summary>
    private static Dictionary<string, string> CounterNames(List<string> tokens)
    {
        var attributeNames = new Dictionary<string, string>
        {
            ["#count"] = "count",
            ["#start"] = "windowStart",
            ["#size"] = "windowSeconds",
            ["#revoked"] = DenyList.RevokedAttribute,
        };
        for (var i = 0; i < tokens.Count; i++)
        {
            attributeNames[$"#jti{i}"] = tokens[i];
        }

        return attributeNames;
    }

    private Admission Counted(string clientId, Request request, long count)
    {
        var limit = request.Limit;
        if (count >= limit.Requests)
        {
            _exhausted[clientId] = request.Window;
        }

        return new(new Lease(count <= limit.Requests, limit, Math.Max(0, limit.Requests - count), request.Reset), Revoked: false);
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

    /// <summary>One client's requests waiting for the next write, and whether one is in flight. Guarded by its own lock.</summary>
    private sealed class ClientQueue
    {
        public List<Request> Pending { get; private set; } = [];

        public bool Writing { get; set; }

        public List<Request> Take()
        {
            if (Pending.Count <= MaxBatch)
            {
                var all = Pending;
                Pending = [];
                return all;
            }

            var batch = Pending[..MaxBatch];
            Pending = Pending[MaxBatch..];
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
/// one DynamoDB call: a revoked token is refused with 401 as JwtBearer would, a client over its limit with 429.
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
