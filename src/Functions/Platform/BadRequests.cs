using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// A body or parameter the framework could not read (malformed JSON, a string where a number belongs, an empty
/// body, <c>?limit=abc</c>) answers the same 400 validation problem as a field rule does: <c>errors</c> keyed by
/// the JSON path (<c>items[0].quantity</c>, <c>$</c> for the whole body) or the parameter name, each message saying
/// what was expected and, for JSON, at which line and position.
/// </summary>
internal sealed partial class BadRequests(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad || httpContext.Response.HasStarted)
        {
            return false;
        }

        var (path, message) = Describe(bad);
        var validation = new RequestValidation();
        validation.Add(path, message);
        httpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new HttpValidationProblemDetails(validation.ToDictionary())
            {
                Status = StatusCodes.Status400BadRequest,
                Type = Problems.Type(ValidationProblems.Slug),
                Title = ValidationProblems.Title,
                Detail = path == "$" ? message : $"{path}: {message}",
            },
        });
    }

    /// <summary>Where the request is wrong (a JSON path or a parameter name) and what is wrong there.</summary>
    public static (string Path, string Message) Describe(BadHttpRequestException bad)
    {
        if (bad.InnerException is JsonException json)
        {
            return (PathKey(json.Path), DescribeJson(json));
        }

        if (FailedToBind().Match(bad.Message) is { Success: true } failed)
        {
            return (failed.Groups["name"].Value, $"Expected {Expected(failed.Groups["type"].Value)}, got \"{failed.Groups["value"].Value}\".");
        }

        if (NotProvided().Match(bad.Message) is { Success: true } missing)
        {
            return missing.Groups["source"].Value == "body"
                ? ("$", "A JSON body is required.")
                : (missing.Groups["name"].Value, "Required.");
        }

        if (bad.Message.Contains("body", StringComparison.OrdinalIgnoreCase))
        {
            return ("$", "A JSON body is required.");
        }

        return ("$", "The request could not be read.");
    }

    private static string DescribeJson(JsonException json)
    {
        var at = json.LineNumber is { } line && json.BytePositionInLine is { } position
            ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, position {position + 1}")
            : "";

        // The reader's own exception is a syntax error; the serializer's is a value of the wrong type.
        if (json.InnerException is { } inner && inner.GetType().Name == "JsonReaderException")
        {
            return $"Malformed JSON{at}: {StripLocation(inner.Message)}";
        }

        if (CouldNotConvert().Match(json.Message) is { Success: true } convert)
        {
            return $"Expected {Expected(convert.Groups["type"].Value)}{at}.";
        }

        return $"{StripLocation(json.Message)}{(at.Length > 0 ? $" ({at.TrimStart()})" : "")}";
    }

    /// <summary>System.Text.Json's path (<c>$.items[0].quantity</c>) as the validation keys name it (<c>items[0].quantity</c>).</summary>
    private static string PathKey(string? path) => path switch
    {
        null or "" or "$" => "$",
        _ when path.StartsWith("$.", StringComparison.Ordinal) => path[2..],
        _ => path,
    };

    /// <summary>What a .NET type means to a caller who writes JSON.</summary>
    private static string Expected(string typeName)
    {
        var type = NullableOf().Match(typeName) is { Success: true } nullable ? nullable.Groups["inner"].Value : typeName.TrimEnd('?');
        return type switch
        {
            "System.Int32" or "Int32" or "int" => "a whole number from -2147483648 to 2147483647",
            "System.Int64" or "Int64" or "long" => "a whole number",
            "System.Decimal" or "Decimal" or "decimal" or "System.Double" or "double" => "a number",
            "System.String" or "String" or "string" => "a string",
            "System.Boolean" or "Boolean" or "bool" => "true or false",
            "System.DateTimeOffset" or "DateTimeOffset" => "an ISO 8601 date and time",
            _ when type.Contains("List", StringComparison.Ordinal) || type.EndsWith("[]", StringComparison.Ordinal)
                || type.Contains("Enumerable", StringComparison.Ordinal) => "an array",
            _ => "an object",
        };
    }

    private static string StripLocation(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        cut = cut < 0 ? message.IndexOf(" LineNumber: ", StringComparison.Ordinal) : cut;
        return (cut < 0 ? message : message[..cut]).Trim();
    }

    [GeneratedRegex("""^Failed to bind parameter "(?<type>.+) (?<name>[^ "]+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex FailedToBind();

    [GeneratedRegex("""^Required parameter "(?<type>.+) (?<name>[^ "]+)" was not provided from (?<source>[a-z ]+)\.$""")]
    private static partial Regex NotProvided();

    [GeneratedRegex("""could not be converted to (?<type>[^ ]+?)\.( |$)""")]
    private static partial Regex CouldNotConvert();

    [GeneratedRegex("""^System\.Nullable`1\[(?<inner>[^\]]+)\]$""")]
    private static partial Regex NullableOf();
}

/// <summary>Tells the framework to hand a parameter or body it cannot read to <see cref="BadRequests"/>.</summary>
internal static class BadRequestsSetup
{
    public static IServiceCollection AddBadRequests(this IServiceCollection services)
    {
        services.AddExceptionHandler<BadRequests>();
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }
}
