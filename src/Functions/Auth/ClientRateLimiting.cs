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
/// </summary>
public sealed class ClientRateLimiter(IAmazonDynamoDB dynamo, ResourceNames names, TimeProvider time)
{
    public static readonly MetadataName<long> Limit = MetadataName.Create<long>("RateLimit-Limit");
    public static readonly MetadataName<long> Remaining = MetadataName.Create<long>("RateLimit-Remaining");
    public static readonly MetadataName<long> Reset = MetadataName.Create<long>("RateLimit-Reset");
    public static readonly MetadataName<string> Policy = MetadataName.Create<string>("RateLimit-Policy");

    /// <summary>Attempts at counting a request while other requests start the same window.</summary>
    private const int MaxAttempts = 3;

    private readonly ConcurrentDictionary<string, string> _exhausted = new(StringComparer.Ordinal);

    public static Dictionary<string, AttributeValue> ClientKey(string clientId) => new() { ["pk"] = new AttributeValue { S = "client#" + clientId } };

    /// <summary>Counts the request of <paramref name="clientId"/> made with token <paramref name="tokenId"/>.</summary>
    public async ValueTask<Admission> AdmitAsync(string clientId, string tokenId, RateLimit limit, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var start = now.ToUnixTimeSeconds() / limit.WindowSeconds * limit.WindowSeconds;
        var end = DateTimeOffset.FromUnixTimeSeconds(start + limit.WindowSeconds);
        var window = string.Create(CultureInfo.InvariantCulture, $"{limit.WindowSeconds}#{start}");
        var reset = Math.Max(1, (long)Math.Ceiling((end - now).TotalSeconds));

        if (_exhausted.TryGetValue(clientId, out var exhaustedWindow) && exhaustedWindow == window)
        {
            return new(new Lease(false, limit, 0, reset), Revoked: false);
        }

        var attributeNames = new Dictionary<string, string>
        {
            ["#count"] = "count",
            ["#start"] = "windowStart",
            ["#size"] = "windowSeconds",
            ["#revoked"] = DenyList.RevokedAttribute,
            ["#jti"] = tokenId,
        };
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
                    ConditionExpression = "#start = :start AND #size = :size AND attribute_not_exists(#revoked.#jti)",
                    ExpressionAttributeNames = attributeNames,
                    ExpressionAttributeValues = values,
                    ReturnValues = ReturnValue.UPDATED_NEW,
                    ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                }, cancellationToken);
                return Counted(long.Parse(counted.Attributes["count"].N, CultureInfo.InvariantCulture));
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
                    ConditionExpression = "(attribute_not_exists(#start) OR #start < :start OR #size <> :size) AND attribute_not_exists(#revoked.#jti)",
                    ExpressionAttributeNames = attributeNames,
                    ExpressionAttributeValues = values,
                }, cancellationToken);
                return Counted(1);
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

        Admission Counted(long count)
        {
            if (count >= limit.Requests)
            {
                _exhausted[clientId] = window;
            }

            return new(new Lease(count <= limit.Requests, limit, Math.Max(0, limit.Requests - count), reset), Revoked: false);
        }
    }

    private async Task<Dictionary<string, AttributeValue>?> ReadAsync(string clientId, CancellationToken cancellationToken) =>
        (await dynamo.GetItemAsync(new GetItemRequest { TableName = names.RateLimitsTable, Key = ClientKey(clientId), ConsistentRead = true },
            cancellationToken)).Item;

    private static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

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
