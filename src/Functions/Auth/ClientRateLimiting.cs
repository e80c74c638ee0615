using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// Per-client fixed-window rate limiting shared by every instance of every function: one counter item per client
/// and window in the rate-limits table ("rate#&lt;client&gt;#&lt;window size&gt;#&lt;window start&gt;"), incremented
/// with one atomic UpdateItem per request, so a request costs exactly one DynamoDB call. Once an instance has seen a
/// window exhausted it refuses the rest of that window without asking DynamoDB at all.
/// Leases are System.Threading.RateLimiting leases carrying the limit, what remains and when the window resets.
/// </summary>
public sealed class ClientRateLimiter(IAmazonDynamoDB dynamo, ResourceNames names, TimeProvider time)
{
    public static readonly MetadataName<long> Limit = MetadataName.Create<long>("RateLimit-Limit");
    public static readonly MetadataName<long> Remaining = MetadataName.Create<long>("RateLimit-Remaining");
    public static readonly MetadataName<long> Reset = MetadataName.Create<long>("RateLimit-Reset");
    public static readonly MetadataName<string> Policy = MetadataName.Create<string>("RateLimit-Policy");

    private readonly ConcurrentDictionary<string, string> _exhausted = new(StringComparer.Ordinal);

    public async ValueTask<RateLimitLease> AcquireAsync(string clientId, RateLimit limit, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var start = now.ToUnixTimeSeconds() / limit.WindowSeconds * limit.WindowSeconds;
        var end = DateTimeOffset.FromUnixTimeSeconds(start + limit.WindowSeconds);
        var key = string.Create(CultureInfo.InvariantCulture, $"rate#{clientId}#{limit.WindowSeconds}#{start}");
        var reset = Math.Max(1, (long)Math.Ceiling((end - now).TotalSeconds));

        if (_exhausted.TryGetValue(clientId, out var exhaustedKey) && exhaustedKey == key)
        {
            return new Lease(false, limit, 0, reset);
        }

        var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = names.RateLimitsTable,
            Key = new() { ["pk"] = new AttributeValue { S = key } },
            UpdateExpression = "ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)",
            ExpressionAttributeNames = new() { ["#count"] = "count", ["#ttl"] = "ttl" },
            ExpressionAttributeValues = new()
            {
                [":one"] = new AttributeValue { N = "1" },
                [":ttl"] = new AttributeValue { N = (end.ToUnixTimeSeconds() + 60).ToString(CultureInfo.InvariantCulture) },
            },
            ReturnValues = ReturnValue.UPDATED_NEW,
        }, cancellationToken);

        var count = long.Parse(response.Attributes["count"].N, CultureInfo.InvariantCulture);
        if (count >= limit.Requests)
        {
            _exhausted[clientId] = key;
        }

        return new Lease(count <= limit.Requests, limit, Math.Max(0, limit.Requests - count), reset);
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

/// <summary>Applies <see cref="ClientRateLimiter"/> to every request that carries a valid access token.</summary>
internal static class ClientRateLimitingMiddleware
{
    public static IApplicationBuilder UseClientRateLimiting(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated != true || context.User.RateLimit() is not { } limit)
            {
                await next(context);
                return;
            }

            var limiter = context.RequestServices.GetRequiredService<ClientRateLimiter>();
            using var lease = await limiter.AcquireAsync(context.User.ClientId(), limit, context.RequestAborted);
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
