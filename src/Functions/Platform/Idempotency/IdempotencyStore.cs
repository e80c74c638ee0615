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
    /// How long a claimed key blocks other requests before it counts as abandoned (its request crashed):
    /// a little longer than any request may run.
    /// </summary>
    public TimeSpan InProgressTimeout { get; set; } = TimeSpan.FromSeconds(35);
}

/// <summary>
/// A key this request has claimed: the record it wrote (in <see cref="Status"/>), to be completed or released.
/// <see cref="InProgressExpiration"/> is what tells this claim's record from a later one's.
/// </summary>
public sealed record IdempotencyClaim(string Id, string Validation, long InProgressExpiration, string Status = IdempotencyRecord.InProgress);

/// <summary>
/// The Idempotency-Key of a request, scoped to the operation and the calling client. Powertools semantics and
/// record schema, with one difference in the calls made: the completed response can be written inside the
/// caller's own TransactWriteItems (<see cref="CompletionInTransaction"/>), so the happy path costs one
/// conditional PutItem (the claim) and nothing after the business write.
/// </summary>
public sealed class IdempotencyStore(IAmazonDynamoDB dynamo, ResourceNames names, IOptions<IdempotencyOptions> options, TimeProvider clock,
    ILogger<IdempotencyStore> logger)
{
    public const string HeaderName = "Idempotency-Key";
    public const int MaxKeyLength = 255;

    private IdempotencyOptions Options => options.Value;

    /// <summary>A key is 1..255 printable ASCII characters (a UUID is what clients usually send).</summary>
    public static bool IsAcceptableKey(string key) =>
        key.Length is > 0 and <= MaxKeyLength && key.All(c => c is >= ' ' and <= '~');

    /// <summary>The record id: operation, client and a hash of the key, so keys of different clients never meet.</summary>
    public static string RecordId(string operation, string clientId, string key) =>
        $"{operation}#{clientId}#{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))}";

    /// <summary>
    /// Claims the key with one conditional PutItem; when a live record is there, the decision comes from the
    /// record DynamoDB returns with the failed condition (no second read).
    /// </summary>
    public async Task<(IdempotencyDecision Decision, IdempotencyClaim? Claim)> ClaimAsync(string operation, string clientId, string key,
        string validation, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var id = RecordId(operation, clientId, key);
        try
        {
            var claim = await PutClaimAsync(id, validation, null, now, ReturnValuesOnConditionCheckFailure.ALL_OLD, cancellationToken);
            return (new IdempotencyDecision.Proceed(), claim);
        }
        catch (ConditionalCheckFailedException e)
        {
            var existing = e.Item is { Count: > 0 } item ? FromItem(item) : await GetAsync(id, cancellationToken);
            var decision = IdempotencyDecision.For(existing, validation, now);
            if (decision is IdempotencyDecision.Proceed)
            {
                // The record lapsed between the write and now: the condition saw it alive. Let the caller retry.
                decision = new IdempotencyDecision.StillInProgress(TimeSpan.FromSeconds(1));
            }

            logger.KeyAlreadyUsed(operation, decision.GetType().Name);
            return (decision, null);
        }
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
            return await PutClaimAsync(RecordId(operation, clientId, key), validation, response, clock.GetUtcNow(), ReturnValuesOnConditionCheckFailure.NONE,
                cancellationToken);
        }
        catch (ConditionalCheckFailedException)
        {
            logger.KeyAlreadyUsed(operation, nameof(IdempotencyRecord.Completed));
            return null;
        }
    }

    /// <summary>The conditional PutItem of a claim: in progress, or completed with <paramref name="response"/>.</summary>
    private async Task<IdempotencyClaim> PutClaimAsync(string id, string validation, StoredResponse? response, DateTimeOffset now,
        ReturnValuesOnConditionCheckFailure onFailure, CancellationToken cancellationToken)
    {
        var inProgressUntil = (now + Options.InProgressTimeout).ToUnixTimeMilliseconds();
        var status = response is null ? IdempotencyRecord.InProgress : IdempotencyRecord.Completed;
        var item = new Dictionary<string, AttributeValue>
        {
            ["id"] = S(id),
            ["status"] = S(status),
            ["expiration"] = N((now + Options.Expiration).ToUnixTimeSeconds()),
            ["in_progress_expiration"] = N(inProgressUntil),
            ["validation"] = S(validation),
        };
        if (response is not null)
        {
            item["data"] = S(response.ToJson());
        }

        await dynamo.PutItemAsync(new PutItemRequest
        {
            TableName = names.IdempotencyTable,
            Item = item,
            ConditionExpression = "attribute_not_exists(#id) OR #expiration < :now OR (#status = :inprogress AND #ipe < :nowms)",
            ExpressionAttributeNames = new Dictionary<string, string>
            {
                ["#id"] = "id",
                ["#expiration"] = "expiration",
                ["#status"] = "status",
                ["#ipe"] = "in_progress_expiration",
            },
            ExpressionAttributeValues = new Dictionary<string, AttributeValue>
            {
                [":now"] = N(now.ToUnixTimeSeconds()),
                [":nowms"] = N(now.ToUnixTimeMilliseconds()),
                [":inprogress"] = S(IdempotencyRecord.InProgress),
            },
            ReturnValuesOnConditionCheckFailure = onFailure,
        }, cancellationToken);
        return new IdempotencyClaim(id, validation, inProgressUntil, status);
    }

    /// <summary>The completion of a claim as one item of the caller's TransactWriteItems.</summary>
    public TransactWriteItem CompletionInTransaction(IdempotencyClaim claim, StoredResponse response) => new()
    {
        Update = new Update
        {
            TableName = names.IdempotencyTable,
            Key = new Dictionary<string, AttributeValue> { ["id"] = S(claim.Id) },
            UpdateExpression = "SET #status = :completed, #data = :data, #expiration = :expiration",
            ConditionExpression = "#status = :inprogress AND #ipe = :mine",
            ExpressionAttributeNames = CompletionNames,
            ExpressionAttributeValues = CompletionValues(claim, response),
        },
    };

    /// <summary>Saves a response outside a transaction (answers that wrote nothing else, such as a 409).</summary>
    public async Task CompleteAsync(IdempotencyClaim claim, StoredResponse response, CancellationToken cancellationToken)
    {
        try
        {
            await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = names.IdempotencyTable,
                Key = new Dictionary<string, AttributeValue> { ["id"] = S(claim.Id) },
                UpdateExpression = "SET #status = :completed, #data = :data, #expiration = :expiration",
                ConditionExpression = "#status = :inprogress AND #ipe = :mine",
                ExpressionAttributeNames = CompletionNames,
                ExpressionAttributeValues = CompletionValues(claim, response),
            }, cancellationToken);
        }
        catch (ConditionalCheckFailedException)
        {
            // The claim lapsed and another request took the key; that request's answer is the one kept.
            logger.ClaimLapsed(claim.Id);
        }
    }

    /// <summary>Deletes the claim after a failure, so the client may retry with the same key at once.</summary>
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
                    [":claimed"] = S(claim.Status),
                    [":mine"] = N(claim.InProgressExpiration),
                },
            }, CancellationToken.None);
        }
        catch (Exception e) when (e is ConditionalCheckFailedException || Problems.IsUnavailable(e))
        {
            // Not ours any more, or DynamoDB is away: the in-progress timeout frees the key.
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

    private static Dictionary<string, string> CompletionNames => new()
    {
        ["#status"] = "status",
        ["#data"] = "data",
        ["#expiration"] = "expiration",
        ["#ipe"] = "in_progress_expiration",
    };

    private Dictionary<string, AttributeValue> CompletionValues(IdempotencyClaim claim, StoredResponse response) => new()
    {
        [":completed"] = S(IdempotencyRecord.Completed),
        [":inprogress"] = S(IdempotencyRecord.InProgress),
        [":data"] = S(response.ToJson()),
        [":expiration"] = N((clock.GetUtcNow() + Options.Expiration).ToUnixTimeSeconds()),
        [":mine"] = N(claim.InProgressExpiration),
    };
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Idempotency claim {RecordId} lapsed before its response was saved")]
    public static partial void ClaimLapsed(this ILogger logger, string recordId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Idempotency claim {RecordId} could not be released")]
    public static partial void ClaimNotReleased(this ILogger logger, Exception exception, string recordId);
}
