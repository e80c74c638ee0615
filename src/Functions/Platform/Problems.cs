using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// One error shape: RFC 7807 ProblemDetails with a stable type URI per problem and the correlation id.
/// </summary>
public static class Problems
{
    public const string TypeBase = "https://orderprocessing.dev/problems/";

    /// <summary>The content type of every problem answer, without a charset parameter (JSON is UTF-8 by definition).</summary>
    public const string ContentType = "application/problem+json";

    public static string Type(string slug) => TypeBase + slug;

    internal static IServiceCollection AddProblems(this IServiceCollection services) =>
        services.AddBadRequests().AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            Complete(context.HttpContext, problem);
            if (problem.Type is null or "" || problem.Type.StartsWith("https://tools.ietf.org", StringComparison.Ordinal))
            {
                problem.Type = Type(SlugFor(problem.Status));
            }

            // An unhandled exception never shows its message or stack trace to the caller.
            if (context.Exception is not null)
            {
                problem.Detail = "The request could not be completed. Quote the correlation id when reporting this.";
            }
        });

    /// <summary>What every problem answer carries: the request path as instance, the trace id and the correlation id.</summary>
    public static void Complete(HttpContext context, ProblemDetails problem)
    {
        problem.Instance ??= context.Request.Path;
        problem.Extensions["traceId"] = System.Diagnostics.Activity.Current?.Id ?? context.TraceIdentifier;
        problem.Extensions["correlationId"] = context.CorrelationId();
    }

    internal static IApplicationBuilder UseProblems(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A body or parameter the caller got wrong is their 400, not an error of ours to log with a stack trace.
            SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException,
            StatusCodeSelector = exception => exception switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                _ when IsUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            },
        });
        app.UseStatusCodePages(async pages =>
        {
            var http = pages.HttpContext;
            var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
            if (http.Response.StatusCode == StatusCodes.Status400BadRequest && BadRequests.DescribeUnreadableParameter(http) is { } unreadable)
            {
                await BadRequests.WriteAsync(problems, http, unreadable.Path, unreadable.Message);
                return;
            }

            await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = { Status = http.Response.StatusCode } });
        });
        app.Use((context, next) =>
        {
            // A charset the JSON reader cannot decode (utf-7, made-up names) is refused before any endpoint reads the body.
            if (Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var contentType)
                && contentType.Charset.HasValue && !IsReadableCharset(contentType.Charset.Value!))
            {
                context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.Use(async (context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                // One content type for every problem, whichever writer produced it (stored responses replay theirs).
                if (context.Response.ContentType?.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase) == true)
                {
                    context.Response.ContentType = ContentType;
                }

                if (context.Response.StatusCode == StatusCodes.Status503ServiceUnavailable
                    && !context.Response.Headers.ContainsKey("Retry-After"))
                {
                    context.Response.Headers.RetryAfter = "1";
                }

                return Task.CompletedTask;
            });
            await next(context);
        });
        return app;
    }

    /// <summary>
    /// A dependency that cannot be reached, times out, throttles us or fails on its side (5xx) is a 503 the caller
    /// may retry, not a 500: the request was fine and nothing the caller can change would make it work now.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        HttpRequestException => true,
        System.Net.Sockets.SocketException => true,
        IOException => true,
        TimeoutException => true,
        TaskCanceledException => true,
        Amazon.Runtime.AmazonServiceException
        {
            ErrorCode: "ProvisionedThroughputExceededException" or "ThrottlingException" or "Throttling"
            or "RequestLimitExceeded" or "TooManyRequestsException" or "RequestThrottled" or "RequestTimeout" or "RequestTimeoutException"
            or "TransactionInProgressException"
        } => true,
        Amazon.Runtime.AmazonServiceException { StatusCode: >= System.Net.HttpStatusCode.InternalServerError } => true,
        Amazon.Runtime.AmazonClientException when exception.InnerException is not null => IsUnavailable(exception.InnerException),
        _ => false,
    };

    private static bool IsReadableCharset(string charset)
    {
        try
        {
            return System.Text.Encoding.GetEncoding(charset.Trim('"')).CodePage != 65000; // UTF-7
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    private static string SlugFor(int? status) => status switch
    {
        400 => "bad-request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        409 => "conflict",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        422 => "unprocessable",
        429 => "too-many-requests",
        503 => "service-unavailable",
        _ => "internal-error",
    };

    /// <summary>A ProblemDetails result with the project's type URI.</summary>
    public static ProblemHttpResult Problem(int status, string slug, string title, string? detail = null,
        IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(new ProblemDetails
        {
            Status = status,
            Type = Type(slug),
            Title = title,
            Detail = detail,
            Extensions = extensions ?? new Dictionary<string, object?>(),
        });
}

/// <summary>The 400 that lists every problem of a request body.</summary>
public static class ValidationProblems
{
    public const string Slug = "validation";

    public const string Title = "The request is not valid.";

    public static ValidationProblem From(RequestValidation validation) =>
        TypedResults.ValidationProblem(validation.ToDictionary(), title: Title, type: Problems.Type(Slug));

    public static ValidationProblem From(string path, string message)
    {
        var validation = new RequestValidation();
        validation.Add(path, message);
        return From(validation);
    }
}
