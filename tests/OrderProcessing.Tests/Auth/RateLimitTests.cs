using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OrderProcessing.Functions.Auth;

namespace OrderProcessing.Tests.Auth;

public sealed class RateLimitTests(CloudFixture cloud)
{
    [Fact]
    public async Task Burst_over_the_limit_from_two_instances_sharing_the_tables_is_429_at_the_right_count_with_headers()
    {
        // Both instances share one clock pinned 100 s into a one-hour window, so the window cannot roll over mid-test.
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600 * 3600 + 100);
        var time = new FakeTimeProvider(start);
        var stack = await cloud.ProvisionAsync("ratelimit");
        await using var firstFactory = await AppFixture.CreateAsync(cloud, stack);
        await using var secondFactory = await AppFixture.CreateAsync(cloud, stack, new Dictionary<string, string?> { ["AUTH_LOCAL_KEY_DIR"] = firstFactory.SigningKeyDirectory });
        await using var first = firstFactory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(time)));
        await using var second = secondFactory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(time)));
        using var client = await first.CreateClientAsync([Scopes.Admin], rateLimit: new RateLimit(5, 3600));
        using var onFirst = first.CreateClient(client.AccessToken);
        using var onSecond = second.CreateClient(client.AccessToken);
        var path = new Uri($"/admin/clients/{client.ClientId}", UriKind.Relative);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => (i % 2 == 0 ? onFirst : onSecond).GetAsync(path)));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(7, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.All(responses, r =>
        {
            Assert.Equal("5", Header(r, "RateLimit-Limit"));
            Assert.Equal("3500", Header(r, "RateLimit-Reset"));
        });
        Assert.Equal(["0", "1", "2", "3", "4"], responses.Where(r => r.IsSuccessStatusCode).Select(r => Header(r, "RateLimit-Remaining")).Order());
        Assert.All(responses.Where(r => !r.IsSuccessStatusCode), r =>
        {
            Assert.Equal("0", Header(r, "RateLimit-Remaining"));
            Assert.Equal(TimeSpan.FromSeconds(3500), r.Headers.RetryAfter?.Delta);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        });

        using var dynamo = cloud.CreateDynamoDbClient();
        var counter = (await dynamo.GetItemAsync(stack.Tables["RateLimitsTable"], ClientRateLimiter.ClientKey(client.ClientId))).Item;
        Assert.Equal((start.ToUnixTimeSeconds() - 100).ToString(CultureInfo.InvariantCulture), counter["windowStart"].N);
        Assert.Equal("3600", counter["windowSeconds"].N);
        Assert.True(int.Parse(counter["count"].N, CultureInfo.InvariantCulture) >= 6);

        time.Advance(TimeSpan.FromSeconds(3500));
        using var token = await first.RequestTokenAsync(client.ClientId, client.Secret);
        using var renewed = second.CreateClient(token.RootElement.GetProperty("access_token").GetString()!);
        using var nextWindow = await renewed.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, nextWindow.StatusCode);
        Assert.Equal("4", Header(nextWindow, "RateLimit-Remaining"));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Concurrent_requests_of_one_client_on_one_instance_are_counted_in_fewer_writes_each_numbered_as_alone_then_served_from_the_reservation()
    {
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600 * 3600 + 100);
        var time = new FakeTimeProvider(start);
        var stack = await cloud.ProvisionAsync("ratelimit-batch");
        await using var factory = await AppFixture.CreateAsync(cloud, stack);
        await using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(time)));
        using var client = await app.CreateClientAsync([Scopes.Admin], rateLimit: new RateLimit(1000, 3600));
        var path = new Uri($"/admin/clients/{client.ClientId}", UriKind.Relative);
        var dynamo = (Amazon.Runtime.AmazonServiceClient)app.Services.GetRequiredService<Amazon.DynamoDBv2.IAmazonDynamoDB>();
        var counterWrites = 0;
        void Count(object sender, Amazon.Runtime.ResponseEventArgs e)
        {
            if (e is Amazon.Runtime.WebServiceResponseEventArgs { Request: Amazon.DynamoDBv2.Model.UpdateItemRequest { TableName: var table } }
                && table == stack.Tables["RateLimitsTable"])
            {
                Interlocked.Increment(ref counterWrites);
            }
        }

        dynamo.AfterResponseEvent += Count;
        HttpResponseMessage[] responses;
        var oneByOne = new List<HttpResponseMessage>();
        int writesAfterLease;
        try
        {
            responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.Http.GetAsync(path)));
            var writesForBurst = Volatile.Read(ref counterWrites);
            Assert.InRange(writesForBurst, 1, 39);

            // Within the lease (the clock stands still) the numbers reserved ahead admit without another write.
            for (var i = 0; i < 10; i++)
            {
                oneByOne.Add(await client.Http.GetAsync(path));
            }

            Assert.Equal(writesForBurst, Volatile.Read(ref counterWrites));

            // Past the lease the next request writes again, to read the deny-list afresh.
            time.Advance(ClientRateLimiter.AdmissionLease);
            oneByOne.Add(await client.Http.GetAsync(path));
            writesAfterLease = Volatile.Read(ref counterWrites) - writesForBurst;
        }
        finally
        {
            dynamo.AfterResponseEvent -= Count;
        }

        // Each request numbered as one write of its own would have numbered it (the client's token request counted none).
        Assert.All(responses.Concat(oneByOne), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(Enumerable.Range(949, 51).Select(i => i.ToString(CultureInfo.InvariantCulture)).Order(),
            responses.Concat(oneByOne).Select(r => Header(r, "RateLimit-Remaining")).Order());
        Assert.Equal(1, writesAfterLease);

        // The item counts what was reserved: the requests and, ahead of them, at most a tenth of the limit.
        using var dynamoDb = cloud.CreateDynamoDbClient();
        var count = long.Parse((await dynamoDb.GetItemAsync(stack.Tables["RateLimitsTable"], ClientRateLimiter.ClientKey(client.ClientId))).Item["count"].N,
            CultureInfo.InvariantCulture);
        Assert.InRange(count, 51, 51 + 100);
        foreach (var response in responses.Concat(oneByOne))
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_token_revoked_on_one_instance_is_refused_on_the_next_request_by_another_that_holds_numbers_reserved_before()
    {
        var stack = await cloud.ProvisionAsync("ratelimit-lease-revoked");
        await using var first = await AppFixture.CreateAsync(cloud, stack);
        await using var second = await AppFixture.CreateAsync(cloud, stack, new Dictionary<string, string?> { ["AUTH_LOCAL_KEY_DIR"] = first.SigningKeyDirectory });
        using var client = await first.CreateClientAsync([Scopes.Admin], rateLimit: new RateLimit(100_000, 3600));
        using var onSecond = second.CreateClient(client.AccessToken);
        var path = new Uri($"/admin/clients/{client.ClientId}", UriKind.Relative);

        // A burst makes the second instance reserve numbers ahead; what it read of the deny-list then has no revocation.
        var burst = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => onSecond.GetAsync(path)));
        Assert.All(burst, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        using var dynamoDb = cloud.CreateDynamoDbClient();
        var reserved = long.Parse((await dynamoDb.GetItemAsync(stack.Tables["RateLimitsTable"], ClientRateLimiter.ClientKey(client.ClientId))).Item["count"].N,
            CultureInfo.InvariantCulture);
        Assert.True(reserved > 20, $"{reserved} numbers reserved for 20 requests");

        using var revoke = await first.CreateClient().SendAsync(RevocationTests.RevokeRequest(client.ClientId, client.Secret, client.AccessToken, "access_token"));
        using var next = await onSecond.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, next.StatusCode);
        Assert.Contains("revoked", next.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
        foreach (var response in burst)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_revoked_token_among_concurrent_requests_of_its_client_is_refused_and_the_others_are_served()
    {
        var stack = await cloud.ProvisionAsync("ratelimit-revoked");
        await using var app = await AppFixture.CreateAsync(cloud, stack);
        using var client = await app.CreateClientAsync([Scopes.Admin], rateLimit: new RateLimit(1000, 3600));
        using var second = await app.RequestTokenAsync(client.ClientId, client.Secret);
        using var valid = app.CreateClient(second.RootElement.GetProperty("access_token").GetString()!);
        var revoked = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(client.AccessToken);
        await app.Services.GetRequiredService<DenyList>().DenyAsync(revoked.Id, client.ClientId, new DateTimeOffset(revoked.ValidTo));
        var path = new Uri($"/admin/clients/{client.ClientId}", UriKind.Relative);

        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => (i % 2 == 0 ? client.Http : valid).GetAsync(path)));

        Assert.All(responses.Where((_, i) => i % 2 == 0), r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.All(responses.Where((_, i) => i % 2 == 1), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Unauthenticated_and_public_requests_are_not_rate_limited_per_client()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("ratelimit-public"));
        using var http = app.CreateClient();

        using var response = await http.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("RateLimit-Limit"));
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : "(missing)";
}
