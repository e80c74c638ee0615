using System.Security.Cryptography;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Options;
using static OrderProcessing.Functions.Platform.DynamoItem;

namespace OrderProcessing.Functions.Platform.Idempotency;

/// <summary>How long idempotency records live.</summary>
public sealed class IdempotencyOptions
{
    public const string Section = "Idempotency";

    /// <summary>How long a completed response is replayed (the record's TTL); 24 hours unless configured.</summary>
    public TimeSpan Expiration { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// The record schema's <c>in_progress_expiration</c>, written with every record: how long after it was written
    /// a record still INPROGRESS (a claim as Powertools writes it; this service writes records completed) counts as
    /// abandoned by a crashed request, freeing its key.
    /// </summary>
    public TimeSpan InProgressTimeout { get; set; } = TimeSpan.FromSeconds(35);
}

/// <summary>
/// A key this work has claimed (<see cref="IdempotencyStore.ClaimCompletedAsync"/>): the record it wrote, to be released if
/// the work fails. <see cref="InProgressExpiration"/> is what tells this claim's record from a later one's.
/// </summary>
public sealed record IdempotencyClaim(string Id, long InProgressExpiration);

/// <summary>A request's use of its Idempotency-Key: the operation, the record its answer is saved under, and the request's hash.</summary>
public sealed record IdempotencyKeyUse(string Operation, string Id, string Validation);

/// <summary>
/// The Idempotency-Key of a request, scoped to the operation and the calling client, in the record schema of
/// Powertools for AWS Lambda. Unlike Powertools, a request claims nothing before it runs: its answer is saved once,
/// completed, by a write that holds only while the key is free: inside the operation's own TransactWriteItems when
/// the operation writes (<see cref="FirstUseInTransaction"/>), or as one conditional PutItem when it wrote nothing
/// (<see cref="SaveFirstUseAsync"/>). Of two requests with one key, the one whose write lands first is the key's
/// answer; the other's write fails as a whole and it answers from the record (<see cref="DecideAsync"/>). So a
/// keyed request costs no call beyond its own write, and a crashed request leaves nothing behind.
/// </summary>
public sealed class IdempotencyStore(IAmazonDynamoDB dynamo, ResourceNames names, IOptions<IdempotencyOptions> options, TimeProvider clock,
    ILogger<IdempotencyStore> logger)
{
    public const string HeaderName = "Idempotency-Key";
    public const int MaxKeyLength = 255;

    /// <summary>The key is free: no record, an expired one (TTL is lazy), or a claim in progress that lapsed.</summary>
    private const string KeyIsFree = "attribute_not_exists(#id) OR #expiration < :now OR (#status = :inprogress AND #ipe < :nowms)";

    private IdempotencyOptions Options => options.Value;

    /// <summary>A key is 1..255 printable ASCII characters (a UUID is what clients usually send).</summary>
    public static bool IsAcceptableKey(string key) =>
        key.Length is > 0 and <= MaxKeyLength && key.All(c => c is >= ' ' and <= '~');

    /// <summary>The record id: operation, client and a hash of the key, so keys of different clients never meet.</summary>
    public static string RecordId(string operation, string clientId, string key) =>
        $"{operation}#{clientId}#{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))}";

    public static IdempotencyKeyUse Use(string operation, string clientId, string key, string validation) =>
        new(operation, RecordId(operation, clientId, key), validation);

    /// <summary>
    /// The key's completed record holding <paramref name="response"/>, as one item of the operation's transaction,
    /// written only while the key is free: when the key was used before, the whole transaction fails on this item.
    /// </summary>
    public TransactWriteItem FirstUseInTransaction(IdempotencyKeyUse use, StoredResponse response)
    {
        var now = clock.GetUtcNow();
        return new()
        {
            Put = new Put
            {
                TableName = names.IdempotencyTable,
                Item = CompletedRecord(use.Id, use.Validation, response, now),
                ConditionExpression = KeyIsFree,
                ExpressionAttributeNames = KeyIsFreeNames,
                ExpressionAttributeValues = KeyIsFreeValues(now),
            },
        };
    }

    /// <summary>
    /// Saves <paramref name="response"/> (an answer that wrote nothing else, such as a 409) as the key's answer in one
    /// conditional PutItem. Null when saved; when the key was used before, what this request is to answer instead,
    /// decided from the record DynamoDB returns with the failed condition.
    /// </summary>
    public async Task<IdempotencyDecision?> SaveFirstUseAsync(IdempotencyKeyUse use, StoredResponse response, CancellationToken cancellationToken)
    {
        try
        {
            await PutCompletedAsync(use.Id, use.Validation, response, clock.GetUtcNow(), ReturnValuesOnConditionCheckFailure.ALL_OLD, cancellationToken);
            return null;
        }
        catch (ConditionalCheckFailedException e)
        {
            return await DecideAsync(use, e.Item, cancellationToken);
        }
    }

    /// <summary>
    /// What a request whose write found its key used is to answer: the saved response replayed, 422 for another
    /// payload, or 409 while a claim in progress holds the key. Decided from <paramref name="found"/> (the record a
    /// failed condition returned) or, without it, from a consistent read.
    /// </summary>
    public async Task<IdempotencyDecision> DecideAsync(IdempotencyKeyUse use, Dictionary<string, AttributeValue>? found,
        CancellationToken cancellationToken)
    {
        var existing = found is { Count: > 0 } ? FromItem(found) : await GetAsync(use.Id, cancellationToken);
        var decision = IdempotencyDecision.For(existing, use.Validation, clock.GetUtcNow());
        if (decision is IdempotencyDecision.Proceed)
        {
            // The record lapsed between the write and now: the condition saw it alive. Let the caller retry.
            decision = new IdempotencyDecision.StillInProgress(TimeSpan.FromSeconds(1));
        }

        logger.KeyAlreadyUsed(use.Operation, decision.GetType().Name);
        return decision;
    }

    /// <summary>
    /// Claims the key as completed already, with <paramref name="response"/> saved, in one conditional PutItem: for
    /// work that answers no caller and must not be done twice (a push), where losing the work to a crash is better
    /// than a second write per use. The caller does the work after the claim and releases it
    /// (<see cref="ReleaseAsync"/>) if the work fails, so that a retry may do it; a process that dies in between
    /// leaves the key taken. Null when the key is taken (the work is done or being done).
    /// </summary>
    public async Task<IdempotencyClaim?> ClaimCompletedAsync(string operation, string clientId, string key, string validation,
        StoredResponse response, CancellationToken cancellationToken)
    {
        try
        {
            var id = RecordId(operation, clientId, key);
            var item = await PutCompletedAsync(id, validation, response, clock.GetUtcNow(), ReturnValuesOnConditionCheckFailure.NONE, cancellationToken);
            return new IdempotencyClaim(id, item.WholeNumber("in_progress_expiration"));
        }
        catch (ConditionalCheckFailedException)
        {
            logger.KeyAlreadyUsed(operation, nameof(IdempotencyRecord.Completed));
            return null;
        }
    }

    /// <summary>The conditional PutItem of a completed record, written only while the key is free; answers the item written.</summary>
    private async Task<Dictionary<string, AttributeValue>> PutCompletedAsync(string id, string validation, StoredResponse response,
        DateTimeOffset now, ReturnValuesOnConditionCheckFailure onFailure, CancellationToken cancellationToken)
    {
        var item = CompletedRecord(id, validation, response, now);
        await dynamo.PutItemAsync(new PutItemRequest
        {
            TableName = names.IdempotencyTable,
            Item = item,
            ConditionExpression = KeyIsFree,
            ExpressionAttributeNames = KeyIsFreeNames,
            ExpressionAttributeValues = KeyIsFreeValues(now),
            ReturnValuesOnConditionCheckFailure = onFailure,
        }, cancellationToken);
        return item;
    }

    /// <summary>
    /// A completed record. <c>in_progress_expiration</c> is kept for the schema and tells this write's record from a
    /// later one's when a claim is released.
    /// </summary>
    private Dictionary<string, AttributeValue> CompletedRecord(string id, string validation, StoredResponse response, DateTimeOffset now) => new()
    {
        ["id"] = S(id),
        ["status"] = S(IdempotencyRecord.Completed),
        ["expiration"] = N((now + Options.Expiration).ToUnixTimeSeconds()),
        ["in_progress_expiration"] = N((now + Options.InProgressTimeout).ToUnixTimeMilliseconds()),
        ["validation"] = S(validation),
        ["data"] = S(response.ToJson()),
    };

    private static Dictionary<string, string> KeyIsFreeNames => new()
    {
        ["#id"] = "id",
        ["#expiration"] = "expiration",
        ["#status"] = "status",
        ["#ipe"] = "in_progress_expiration",
    };

    private static Dictionary<string, AttributeValue> KeyIsFreeValues(DateTimeOffset now) => new()
    {
        [":now"] = N(now.ToUnixTimeSeconds()),
        [":nowms"] = N(now.ToUnixTimeMilliseconds()),
        [":inprogress"] = S(IdempotencyRecord.InProgress),
    };

    /// <summary>Deletes a claim after its work failed, so that a retry may do the work at once.</summary>
    public async Task ReleaseAsync(IdempotencyClaim claim)
    {
        try
        {
            await dynamo.DeleteItemAsync(new DeleteItemRequest
            {
                TableName = names.IdempotencyTable,
                Key = new Dictionary<string, AttributeValue> { ["id"] = S(claim.Id) },
                ConditionExpression = "#status = :claimed AND #ipe = :mine",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#status"] = "status", ["#ipe"] = "in_progress_expiration" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                {
                    [":claimed"] = S(IdempotencyRecord.Completed),
                    [":mine"] = N(claim.InProgressExpiration),
                },
            }, CancellationToken.None);
        }
        catch (Exception e) when (e is ConditionalCheckFailedException || Problems.IsUnavailable(e))
        {
            // Not ours any more, or DynamoDB is away: the record's expiry frees the key.
            logger.ClaimNotReleased(e, claim.Id);
        }
    }

    public async Task<IdempotencyRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = names.IdempotencyTable,
            Key = new Dictionary<string, AttributeValue> { ["id"] = S(id) },
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item ? FromItem(item) : null;
    }

    public static IdempotencyRecord FromItem(Dictionary<string, AttributeValue> item) => new(
        item.Text("id"),
        item.Text("status"),
        item.WholeNumber("expiration"),
        item.TryGetValue("in_progress_expiration", out var ipe) && ipe.N is not null ? item.WholeNumber("in_progress_expiration") : null,
        item.OptionalText("data"),
        item.OptionalText("validation"));
}

/// <summary>Registration of the idempotency store.</summary>
public static class IdempotencySetup
{
    public static IServiceCollection AddIdempotency(this IServiceCollection services)
    {
        services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.Section);
        services.AddSingleton<IdempotencyStore>();
        return services;
    }
}

internal static partial class IdempotencyLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Idempotency key of {Operation} already used: {Decision}")]
    public static partial void KeyAlreadyUsed(this ILogger logger, string operation, string decision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Idempotency claim {RecordId} could not be released")]
    public static partial void ClaimNotReleased(this ILogger logger, Exception exception, string recordId);
}
