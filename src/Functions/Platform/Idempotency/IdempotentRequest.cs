using System.Globalization;
using System.Reflection;
using Amazon.DynamoDBv2.Model;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;

namespace OrderProcessing.Functions.Platform.Idempotency;

/// <summary>What becomes of an answer to a request that claimed an Idempotency-Key.</summary>
public enum ResponseStorage
{
    /// <summary>Saved already, in the same transaction as the business write.</summary>
    SavedWithWrite,

    /// <summary>Nothing else was written: save it now, so a retry gets the same answer.</summary>
    Save,

    /// <summary>A transient answer (lost claim): release the key so a retry runs again.</summary>
    Discard,
}

/// <summary>An endpoint's answer and how it is to be kept under the request's key.</summary>
public readonly record struct IdempotentAnswer<TResult>(TResult Result, ResponseStorage Storage) where TResult : IResult;

/// <summary>The problems of the Idempotency-Key itself.</summary>
public static class IdempotencyProblems
{
    public static readonly ProblemType RequestInProgress =
        new("request-in-progress", StatusCodes.Status409Conflict, "A request with this Idempotency-Key is still in progress.");

    public static readonly ProblemType KeyReused =
        new("idempotency-key-reused", StatusCodes.Status422UnprocessableEntity, "The Idempotency-Key was used with a different request.");
}

/// <summary>
/// The answer to a request whose key was used before: the first request's response replayed, 409 while it still
/// runs, 422 when the key came with another payload. As a typed result it declares the 409 and 422 to OpenAPI.
/// </summary>
public sealed class IdempotencyRefusal : IResult, IEndpointMetadataProvider
{
    private readonly IResult _result;

    private IdempotencyRefusal(IResult result) => _result = result;

    /// <summary>The replayed response, when this is a replay.</summary>
    public StoredResponse? Replayed { get; private init; }

    public static IdempotencyRefusal Replay(StoredResponse response) => new(response.ToResult(replayed: true)) { Replayed = response };

    public static IdempotencyRefusal InProgress(TimeSpan retryAfter)
    {
        var seconds = (int)Math.Ceiling(retryAfter.TotalSeconds);
        return new(new RetryAfterResult(seconds, new ConflictProblem(IdempotencyProblems.RequestInProgress, $"Retry after {seconds} s to get its response.")));
    }

    public static IdempotencyRefusal PayloadMismatch() => new(new UnprocessableProblem(IdempotencyProblems.KeyReused,
        "Send a new key for a new request; a key is bound to the request it was first used with."));

    public Task ExecuteAsync(HttpContext httpContext) => _result.ExecuteAsync(httpContext);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ConflictProblem.PopulateMetadata(method, builder);
        UnprocessableProblem.PopulateMetadata(method, builder);
    }

    private sealed class RetryAfterResult(int seconds, IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>Whether a request may run: with the key's claim (or without a key), or refused with its answer.</summary>
public sealed record IdempotencyAdmission(IdempotencyClaim? Claim, IdempotencyRefusal? Refusal);

/// <summary>
/// Runs an operation under an optional Idempotency-Key in two steps an endpoint reads top to bottom:
/// <see cref="AdmitAsync"/> claims the key (or replays, refuses with 422, or asks the caller to wait with 409 and
/// Retry-After); <see cref="RunAsync{TResult}"/> runs the operation and keeps its answer, whatever the endpoint
/// answered, unless the operation saved it in its own transaction; a failure releases the key.
/// </summary>
public static class IdempotentRequest
{
    public static async Task<IdempotencyAdmission> AdmitAsync(HttpContext http, IdempotencyStore store, string operation, string clientId,
        string? key, string validationHash)
    {
        if (key is null)
        {
            return new(null, null);
        }

        var (decision, claim) = await store.ClaimAsync(operation, clientId, key, validationHash, http.RequestAborted);
        switch (decision)
        {
            case IdempotencyDecision.Replay replay:
                http.RequestServices.GetRequiredService<Metrics>().Count(Metrics.IdempotentReplays);
                return new(null, IdempotencyRefusal.Replay(replay.Response));
            case IdempotencyDecision.PayloadMismatch:
                return new(null, IdempotencyRefusal.PayloadMismatch());
            case IdempotencyDecision.StillInProgress wait:
                return new(null, IdempotencyRefusal.InProgress(wait.RetryAfter));
            default:
                return new(claim, null);
        }
    }

    public static async Task<TResult> RunAsync<TResult>(HttpContext http, IdempotencyStore store, IdempotencyClaim? claim,
        Func<Task<IdempotentAnswer<TResult>>> operation) where TResult : IResult
    {
        IdempotentAnswer<TResult> answer;
        try
        {
            answer = await operation();
        }
        catch when (claim is not null)
        {
            await store.ReleaseAsync(claim);
            throw;
        }

        if (claim is not null)
        {
            switch (answer.Storage)
            {
                case ResponseStorage.Save:
                    await store.CompleteAsync(claim, await StoredResponse.RecordAsync(answer.Result, http), CancellationToken.None);
                    break;
                case ResponseStorage.Discard:
                    await store.ReleaseAsync(claim);
                    break;
            }
        }

        return answer.Result;
    }

    /// <summary>
    /// For an operation that writes its own transaction: the completed idempotency record of <paramref name="claim"/>
    /// holding the answer the endpoint gives for the operation's result, as one more item of that transaction.
    /// Null without a claim.
    /// </summary>
    public static Func<TValue, Task<TransactWriteItem>>? SaveInTransaction<TValue>(HttpContext http, IdempotencyStore store,
        IdempotencyClaim? claim, Func<TValue, IResult> answer) =>
        claim is null ? null : async value => store.CompletionInTransaction(claim, await StoredResponse.RecordAsync(answer(value), http));

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
