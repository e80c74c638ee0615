using System.Net;
using System.Text;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Events;

public sealed class EventsDispatchTests(AppFixture stack) : IClassFixture<AppFixture>
{
    private async Task<HttpResponseMessage> PostEventAsync(string json)
    {
        using var client = stack.CreateClient();
        return await client.PostAsync(new Uri("/events", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
    }

    [Fact]
    public async Task An_event_of_unknown_shape_is_a_400_problem_in_JSON()
    {
        using var response = await PostEventAsync("""{"detail-type":"Scheduled Event","source":"aws.events"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = await BodyAsync(response);
        Assert.Equal("https://orderprocessing.dev/problems/unknown-event", problem.RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Messages_from_a_queue_no_capability_handles_are_all_reported_failed_so_they_are_not_lost()
    {
        using var response = await PostEventAsync("""
            {"Records":[
              {"messageId":"m-1","body":"{}","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:000000000000:nobody-reads-this.fifo","awsRegion":"us-east-1"},
              {"messageId":"m-2","body":"{}","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:000000000000:nobody-reads-this.fifo","awsRegion":"us-east-1"}]}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = await BodyAsync(response);
        Assert.Equal(["m-1", "m-2"], body.RootElement.GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()));
    }

    [Fact]
    public async Task A_WebSocket_route_nobody_registered_answers_404_as_the_function_result()
    {
        using var response = await PostEventAsync("""{"requestContext":{"routeKey":"$nothing","eventType":"MESSAGE","connectionId":"c-1"},"body":"{}"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = await BodyAsync(response);
        Assert.Equal(404, body.RootElement.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task An_empty_batch_succeeds_with_no_failures()
    {
        using var response = await PostEventAsync("""{"Records":[]}""");

        Assert.Equal("""{"batchItemFailures":[]}""", await response.Content.ReadAsStringAsync());
    }
}
