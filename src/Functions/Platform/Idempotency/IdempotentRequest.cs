using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OrderProcessing.Functions.Platform.Idempotency;

/// <summary>What becomes of a response to a request that claimed an Idempotency-Key.</summary>
public enum ResponseStorage
{
    /// <summary>Saved already, in the same transaction as the business write.</summary>
    SavedWithWrite,

    /// <summary>Nothing else was written: save it now, so a retry gets the same answer.</summary>
    Save,

    /// <summary>A transient answer (busy, lost claim): release the key so a retry runs again.</summary>
    Discard,
}

/// <summary>The response of an idempotent operation and how it is to be kept.</summary>
public sealed record IdempotentOutcome(StoredResponse Response, ResponseStorage Storage);

/// <summary>
/// Runs an operation under an optional Idempotency-Key: claims the key (or replays, refuses with 422, or
/// asks the caller to wait with 409 and Retry-After), runs the operation, saves or releases the claim.
/// </summary>
public static class IdempotentRequest
{
    public static async Task<Results<StoredResponseResult, ValidationProblem, ProblemHttpResult>> RunAsync(
        HttpContext http, IdempotencyStore store, string operation, string clientId, string? key, string validationHash,
        Func<IdempotencyClaim?, Task<IdempotentOutcome>> operationBody)
    {
        IdempotencyClaim? claim = null;
        if (key is not null)
        {
            var (decision, claimed) = await store.ClaimAsync(operation, clientId, key, validationHash, http.RequestAborted);
            switch (decision)
            {
                case IdempotencyDecision.Replay replay:
                    http.RequestServices.GetRequiredService<Metrics>().Count(Metrics.IdempotentReplays);
                    return replay.Response.ToResult(replayed: true);
                case IdempotencyDecision.PayloadMismatch:
                    return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "idempotency-key-reused",
                        "The Idempotency-Key was used with a different request.",
                        "Send a new key for a new request; a key is bound to the request it was first used with.");
                case IdempotencyDecision.StillInProgress wait:
                    var seconds = (int)Math.Ceiling(wait.RetryAfter.TotalSeconds);
                    http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                    return Problems.Problem(StatusCodes.Status409Conflict, "request-in-progress",
                        "A request with this Idempotency-Key is still in progress.",
                        $"Retry after {seconds} s to get its response.");
            }

            claim = claimed;
        }

        IdempotentOutcome outcome;
        try
        {
            outcome = await operationBody(claim);
        }
        catch when (claim is not null)
        {
            await store.ReleaseAsync(claim);
            throw;
        }

        if (claim is not null)
        {
            switch (outcome.Storage)
            {
                case ResponseStorage.Save:
                    await store.CompleteAsync(claim, outcome.Response, CancellationToken.None);
                    break;
                case ResponseStorage.Discard:
                    await store.ReleaseAsync(claim);
                    break;
            }
        }

        return outcome.Response.ToResult();
    }

    /// <summary>The header's value, or a validation problem when it is present but unusable.</summary>
    public static bool TryReadKey(HttpContext http, out string? key, out ValidationProblem? problem)
    {
        problem = null;
        key = null;
        if (!http.Request.Headers.TryGetValue(IdempotencyStore.HeaderName, out var values))
        {
            return true;
        }

        key = values.Count == 1 ? values[0] : null;
        if (key is null || !IdempotencyStore.IsAcceptableKey(key))
        {
            problem = ValidationProblems.From(IdempotencyStore.HeaderName,
                $"One value of 1 to {IdempotencyStore.MaxKeyLength} printable ASCII characters (a UUID, say).");
            return false;
        }

        return true;
    }
}
