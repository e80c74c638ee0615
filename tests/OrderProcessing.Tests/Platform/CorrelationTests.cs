using System.Net;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Platform;

public sealed class CorrelationTests(AppFixture shared) : IClassFixture<AppFixture>
{
    [Theory]
    [InlineData("req-42", true)]
    [InlineData("0190d5f2-7c4e-7b1a-9a55-3f0e5c1d2a77", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("line\nbreak", false)]
    public void Accepts_only_short_printable_ids(string offered, bool accepted) =>
        Assert.Equal(accepted, Correlation.IsAcceptable(offered));

    [Fact]
    public void Rejects_ids_longer_than_128_characters() =>
        Assert.False(Correlation.IsAcceptable(new string('a', 129)));

    [Fact]
    public async Task The_callers_id_is_returned_and_a_new_one_is_made_when_missing()
    {
        var app = shared;
        using var client = app.CreateClient();

        using var given = new HttpRequestMessage(HttpMethod.Get, "/health");
        given.Headers.Add(Correlation.HeaderName, "req-42");
        using var echoed = await client.SendAsync(given);
        using var created = await client.GetAsync(new Uri("/health", UriKind.Relative));

        Assert.Equal("req-42", Assert.Single(echoed.Headers.GetValues(Correlation.HeaderName)));
        Assert.True(Guid.TryParse(Assert.Single(created.Headers.GetValues(Correlation.HeaderName)), out _));
    }

    [Fact]
    public async Task An_unknown_route_answers_problem_details_with_the_correlation_id()
    {
        var app = shared;
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/no-such-thing");
        request.Headers.Add(Correlation.HeaderName, "req-404");

        using var response = await client.SendAsync(request);
        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(404, body.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(Problems.Type("not-found"), body.RootElement.GetProperty("type").GetString());
        Assert.Equal("req-404", body.RootElement.GetProperty("correlationId").GetString());
    }
}
