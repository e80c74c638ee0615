using System.Globalization;
using System.Reflection;
using Amazon.DynamoDBv2.Model;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;

namespace OrderProcessing.Functions.Platform.Idempotency;

/// <summary>How an answer to a request that carried an Idempotency-Key is kept.</summary>
public enum ResponseStorage
{
    /// <summary>Saved already, in the same transaction as the business write.</summary>
    SavedWithWrite,

    /// <summary>Nothing else was written: save it now, unless the key's first answer is saved already.</summary>
    Save,

    /// <summary>The operation's write failed because the key was used before: answer as the key's record says.</summary>
    KeyUsed,
}

/// <summary>An endpoint's answer and how it is to be kept under the request's key; no result when the key was used.</summary>
public readonly record struct IdempotentAnswer<TResult>(TResult? Result, ResponseStorage Storage) where TResult : class, IResult;

/// <summary>The answer of an operation that wrote nothing because its key was used before.</summary>
public static class IdempotentAnswer
{
    public static IdempotentAnswer<TResult> KeyUsed<TResult>() where TResult : class, IResult => new(null, ResponseStorage.KeyUsed);
}

/// <summary>The problems of the Idempotency-Key itself.</summary>
public static class IdempotencyProblems
{
    public static readonly ProblemType RequestInProgress =
        new("request-in-progress", StatusCodes.Status409Conflict, "A request with this Idempotency-Key is still in progress.");

    public static readonly ProblemType KeyReused =
        new("idempotency-key-reused", StatusCodes.Status422UnprocessableEntity, "The Idempotency-Key was used with a different request.");
}

/// <summary>
/// The answer to a request whose key was used before: the first request's response replayed, 422 when the key came
/// with another payload, 409 while a claim in progress holds the key. As a typed result it declares the 409 and 422 to OpenAPI.
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

/// <summary>
/// Runs an operation under an optional Idempotency-Key. Nothing is claimed before it runs: the operation's answer is
/// saved as the key's record by a write that holds only while the key is free, in the operation's own transaction
/// (<see cref="SaveInTransaction"/>) or, for an answer that wrote nothing, right after it. When that write finds the
/// key used, this request answers as the record says: the first response replayed, 422 for another payload.
/// </summary>
public static class IdempotentRequest
{
    /// <summary>The key's use by this request, or null without a key (the request's hash is computed only with one).</summary>
    public static IdempotencyKeyUse? Use(string operation, string clientId, string? key, Func<string> validationHash) =>
        key is null ? null : IdempotencyStore.Use(operation, clientId, key, validationHash());

    /// <summary>
    /// Runs <paramref name="operation"/> and keeps its answer under <paramref name="use"/>; <paramref name="refused"/>
    /// turns the answer for a used key into the endpoint's result type.
    /// </summary>
    public static async Task<TResult> RunAsync<TResult>(HttpContext http, IdempotencyStore store, IdempotencyKeyUse? use,
        Func<Task<IdempotentAnswer<TResult>>> operation, Func<IdempotencyRefusal, TResult> refused) where TResult : class, IResult
    {
        var answer = await operation();
        if (use is null || answer.Storage == ResponseStorage.SavedWithWrite)
        {
            return answer.Result!;
        }

        var decision = answer.Storage == ResponseStorage.Save
            ? await store.SaveFirstUseAsync(use, await StoredResponse.RecordAsync(answer.Result!, http), CancellationToken.None)
            : await store.DecideAsync(use, null, http.RequestAborted);
        return decision is null ? answer.Result! : refused(Refusal(http, decision));
    }

    /// <summary>
    /// For an operation that writes its own transaction: the key's record holding the answer the endpoint gives for
    /// the operation's result, as one more item of that transaction. Null without a key.
    /// </summary>
    public static Func<TValue, Task<TransactWriteItem>>? SaveInTransaction<TValue>(HttpContext http, IdempotencyStore store,
        IdempotencyKeyUse? use, Func<TValue, IResult> answer) =>
        use is null ? null : async value => store.FirstUseInTransaction(use, await StoredResponse.RecordAsync(answer(value), http));

    private static IdempotencyRefusal Refusal(HttpContext http, IdempotencyDecision decision)
    {
        switch (decision)
        {
            case IdempotencyDecision.Replay replay:
                http.RequestServices.GetRequiredService<Metrics>().Count(Metrics.IdempotentReplays);
                return IdempotencyRefusal.Replay(replay.Response);
            case IdempotencyDecision.PayloadMismatch:
                return IdempotencyRefusal.PayloadMismatch();
            default:
                return IdempotencyRefusal.InProgress(decision is IdempotencyDecision.StillInProgress wait ? wait.RetryAfter : TimeSpan.FromSeconds(1));
        }
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
