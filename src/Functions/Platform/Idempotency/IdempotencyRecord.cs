using System.Security.Cryptography;
using System.Text;

namespace OrderProcessing.Functions.Platform.Idempotency;

/// <summary>
/// One row of the Idempotency table, in the record schema of Powertools for AWS Lambda: <c>id</c>,
/// <c>status</c> (INPROGRESS / COMPLETED), <c>expiration</c> (epoch seconds, the table's TTL attribute),
/// <c>in_progress_expiration</c> (epoch milliseconds after which an unfinished request's claim lapses),
/// <c>data</c> (the saved response) and <c>validation</c> (hash of the request payload).
/// </summary>
public sealed record IdempotencyRecord(
    string Id,
    string Status,
    long Expiration,
    long? InProgressExpiration,
    string? Data,
    string? Validation)
{
    public const string InProgress = "INPROGRESS";
    public const string Completed = "COMPLETED";
}

/// <summary>What a request carrying an Idempotency-Key is to do, given the record already stored for the key.</summary>
public abstract record IdempotencyDecision
{
    private IdempotencyDecision()
    {
    }

    /// <summary>No live record: this request owns the key and runs.</summary>
    public sealed record Proceed : IdempotencyDecision;

    /// <summary>The first request finished: answer with its response.</summary>
    public sealed record Replay(StoredResponse Response) : IdempotencyDecision;

    /// <summary>The key was first used with a different payload (422).</summary>
    public sealed record PayloadMismatch : IdempotencyDecision;

    /// <summary>The first request is still running (409 with Retry-After).</summary>
    public sealed record StillInProgress(TimeSpan RetryAfter) : IdempotencyDecision;

    /// <summary>
    /// The rules, as Powertools applies them: an expired record (TTL is lazy, so it may still be there) or an
    /// in-progress record whose claim lapsed (its request crashed) counts as absent; a different payload
    /// is refused before anything else; a completed record is replayed; a live in-progress one makes the caller wait.
    /// </summary>
    public static IdempotencyDecision For(IdempotencyRecord? existing, string validation, DateTimeOffset now)
    {
        if (existing is null
            || existing.Expiration < now.ToUnixTimeSeconds()
            || (existing.Status == IdempotencyRecord.InProgress
                && (existing.InProgressExpiration is null || existing.InProgressExpiration < now.ToUnixTimeMilliseconds())))
        {
            return new Proceed();
        }

        if (!string.Equals(existing.Validation, validation, StringComparison.Ordinal))
        {
            return new PayloadMismatch();
        }

        if (existing.Status == IdempotencyRecord.Completed && existing.Data is not null
            && StoredResponse.TryParse(existing.Data, out var response))
        {
            return new Replay(response);
        }

        var left = TimeSpan.FromMilliseconds(Math.Max(0, (existing.InProgressExpiration ?? 0) - now.ToUnixTimeMilliseconds()));
        return new StillInProgress(left < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : left);
    }

    /// <summary>The validation hash: SHA-256 of the request's canonical JSON.</summary>
    public static string Hash(string canonicalPayload) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalPayload)));
}
