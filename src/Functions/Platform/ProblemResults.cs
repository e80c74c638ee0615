using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// One kind of problem, defined once: its type URI slug, its HTTP status and its title. The capabilities keep
/// their problem types as static fields of this (<c>OrderProblems.InsufficientStock</c>), and every answer of that
/// kind is made from it, so the type, status and title never drift apart.
/// </summary>
public sealed record ProblemType(string Slug, int Status, string Title)
{
    public string Uri => Problems.Type(Slug);

    public ProblemDetails Details(string detail, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails { Status = Status, Type = Uri, Title = Title, Detail = detail };
        foreach (var (name, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[name] = value;
        }

        return problem;
    }
}

/// <summary>
/// A ProblemDetails answer with a fixed status, as a typed result: listed in an endpoint's <c>Results&lt;...&gt;</c>
/// it declares its response (status, ProblemDetails, application/problem+json) to the OpenAPI document, so the
/// endpoint does not restate it with <c>.ProducesProblem</c>. It is written by the app's problem details service
/// (instance, correlation id), as every other problem.
/// </summary>
public abstract class ProblemResult : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<ProblemDetails>
{
    private protected ProblemResult(ProblemType type, string detail, IDictionary<string, object?>? extensions, int expectedStatus)
    {
        if (type.Status != expectedStatus)
        {
            throw new ArgumentException($"Problem type {type.Slug} is a {type.Status}, not a {expectedStatus}.", nameof(type));
        }

        ProblemType = type;
        ProblemDetails = type.Details(detail, extensions);
    }

    public ProblemType ProblemType { get; }

    public ProblemDetails ProblemDetails { get; }

    public int? StatusCode => ProblemType.Status;

    object? IValueHttpResult.Value => ProblemDetails;

    ProblemDetails? IValueHttpResult<ProblemDetails>.Value => ProblemDetails;

    public Task ExecuteAsync(HttpContext httpContext) => TypedResults.Problem(ProblemDetails).ExecuteAsync(httpContext);

    private protected static void Declare(EndpointBuilder builder, int status) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]));
}

/// <summary>404 with ProblemDetails.</summary>
public sealed class NotFoundProblem(ProblemType type, string detail, IDictionary<string, object?>? extensions = null)
    : ProblemResult(type, detail, extensions, StatusCodes.Status404NotFound), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status404NotFound);
}

/// <summary>409 with ProblemDetails.</summary>
public sealed class ConflictProblem(ProblemType type, string detail, IDictionary<string, object?>? extensions = null)
    : ProblemResult(type, detail, extensions, StatusCodes.Status409Conflict), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status409Conflict);
}

/// <summary>422 with ProblemDetails.</summary>
public sealed class UnprocessableProblem(ProblemType type, string detail, IDictionary<string, object?>? extensions = null)
    : ProblemResult(type, detail, extensions, StatusCodes.Status422UnprocessableEntity), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status422UnprocessableEntity);
}
