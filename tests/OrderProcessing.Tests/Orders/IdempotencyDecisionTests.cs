using OrderProcessing.Functions.Platform.Idempotency;

namespace OrderProcessing.Tests.Orders;

public sealed class IdempotencyDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private static readonly StoredResponse Created = new(201, StoredResponse.JsonContentType, """{"orderId":"o-1"}""", "/orders/o-1");

    private static IdempotencyRecord Completed(string validation = "hash") =>
        new("id", IdempotencyRecord.Completed, Now.AddHours(24).ToUnixTimeSeconds(), Now.AddSeconds(-30).ToUnixTimeMilliseconds(), Created.ToJson(), validation);

    private static IdempotencyRecord InProgress(TimeSpan left) =>
        new("id", IdempotencyRecord.InProgress, Now.AddHours(24).ToUnixTimeSeconds(), (Now + left).ToUnixTimeMilliseconds(), null, "hash");

    [Fact]
    public void A_saved_response_escapes_only_what_json_needs_and_reads_back_byte_for_byte()
    {
        var body = """{"orderId":"o-1","name":"27\" monitor","city":"Zürich","note":"<b>&amp;</b>"}""";
        var saved = new StoredResponse(201, StoredResponse.JsonContentType, body, "/orders/o-1");

        var json = saved.ToJson();

        Assert.DoesNotContain("\\u0022", json, StringComparison.Ordinal);
        Assert.Contains("""\"orderId\":""", json, StringComparison.Ordinal);
        Assert.Contains("Zürich", json, StringComparison.Ordinal);
        Assert.True(StoredResponse.TryParse(json, out var read));
        Assert.Equal(saved, read);
        // Records written before, with every quote as \u0022, read back the same.
        Assert.True(StoredResponse.TryParse(System.Text.Json.JsonSerializer.Serialize(saved, IdempotencyJsonForTests.Options), out var old));
        Assert.Equal(saved, old);
    }

    [Fact]
    public void A_new_key_proceeds() =>
        Assert.IsType<IdempotencyDecision.Proceed>(IdempotencyDecision.For(null, "hash", Now));

    [Fact]
    public void A_completed_key_with_the_same_payload_replays_the_saved_response()
    {
        var replay = Assert.IsType<IdempotencyDecision.Replay>(IdempotencyDecision.For(Completed(), "hash", Now));
        Assert.Equal(Created, replay.Response);
    }

    [Fact]
    public void A_key_reused_with_another_payload_is_refused() =>
        Assert.IsType<IdempotencyDecision.PayloadMismatch>(IdempotencyDecision.For(Completed("other"), "hash", Now));

    [Fact]
    public void A_key_whose_first_request_runs_asks_to_wait_for_the_time_it_has_left()
    {
        var wait = Assert.IsType<IdempotencyDecision.StillInProgress>(IdempotencyDecision.For(InProgress(TimeSpan.FromSeconds(7.2)), "hash", Now));
        Assert.Equal(7.2, wait.RetryAfter.TotalSeconds, 1);
    }

    [Fact]
    public void An_in_progress_claim_past_its_timeout_counts_as_abandoned() =>
        Assert.IsType<IdempotencyDecision.Proceed>(IdempotencyDecision.For(InProgress(TimeSpan.FromMilliseconds(-1)), "hash", Now));

    [Fact]
    public void A_completed_record_past_its_expiration_counts_as_absent_even_before_TTL_deletes_it()
    {
        var expired = Completed() with { Expiration = Now.AddSeconds(-1).ToUnixTimeSeconds() };
        Assert.IsType<IdempotencyDecision.Proceed>(IdempotencyDecision.For(expired, "other payload", Now));
    }

    [Fact]
    public void Keys_of_different_clients_and_operations_are_different_records()
    {
        Assert.NotEqual(IdempotencyStore.RecordId("POST /orders", "a", "k"), IdempotencyStore.RecordId("POST /orders", "b", "k"));
        Assert.NotEqual(IdempotencyStore.RecordId("POST /orders", "a", "k"), IdempotencyStore.RecordId("POST /orders/{id}/cancel", "a", "k"));
        Assert.Equal(IdempotencyStore.RecordId("POST /orders", "a", "k"), IdempotencyStore.RecordId("POST /orders", "a", "k"));
    }
}

internal static class IdempotencyJsonForTests
{
    /// <summary>The default encoder, which escapes quotes inside strings as \u0022.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };
}
