using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace OrderProcessing.Functions.Platform.Idempotency;

/// <summary>
/// A response as bytes on the wire: what an idempotent endpoint answers the first time and what it saves,
/// so a replay is the same status, Location and body byte for byte.
/// </summary>
public sealed record StoredResponse(int Status, string ContentType, string Body, string? Location)
{
    public const string JsonContentType = "application/json; charset=utf-8";
    public const string ProblemContentType = Problems.ContentType;

    public static StoredResponse Json<T>(int status, T value, JsonTypeInfo<T> typeInfo, string? location = null) =>
        new(status, JsonContentType, ApiJson.Serialize(value, typeInfo), location);

    /// <summary>A ProblemDetails completed as the app's problem details service would (type, instance, correlation id).</summary>
    public static StoredResponse Problem(HttpContext context, ProblemDetails problem, JsonSerializerOptions options)
    {
        Problems.Complete(context, problem);
        return new(problem.Status ?? StatusCodes.Status500InternalServerError, ProblemContentType,
            ApiJson.Serialize(problem, (JsonTypeInfo<ProblemDetails>)options.GetTypeInfo(typeof(ProblemDetails))), null);
    }

    public string ToJson() => JsonSerializer.Serialize(this, IdempotencyJson.Default.StoredResponse);

    public static bool TryParse(string json, out StoredResponse response)
    {
        try
        {
            response = JsonSerializer.Deserialize(json, IdempotencyJson.Default.StoredResponse)!;
            return response is not null;
        }
        catch (JsonException)
        {
            response = null!;
            return false;
        }
    }

    /// <summary>Writes the response; a replay says so in <c>Idempotent-Replayed: true</c>.</summary>
    public StoredResponseResult ToResult(bool replayed = false) => new StoredResponseResult(this, replayed);
}

/// <summary>Writes a <see cref="StoredResponse"/> exactly as stored.</summary>
public sealed class StoredResponseResult(StoredResponse response, bool replayed) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    public const string ReplayedHeader = "Idempotent-Replayed";

    public StoredResponse Response { get; } = response;

    public bool Replayed { get; } = replayed;

    public int? StatusCode => Response.Status;

    public string ContentType => Response.ContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = Response.Status;
        httpContext.Response.ContentType = Response.ContentType;
        if (Response.Location is not null)
        {
            httpContext.Response.Headers.Location = Response.Location;
        }

        if (Replayed)
        {
            httpContext.Response.Headers[ReplayedHeader] = "true";
        }

        var body = Encoding.UTF8.GetBytes(Response.Body);
        httpContext.Response.ContentLength = body.Length;
        await httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted);
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StoredResponse))]
internal sealed partial class IdempotencyJson : JsonSerializerContext;
