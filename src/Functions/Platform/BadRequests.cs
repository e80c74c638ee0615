using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

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

        // The exception handler has cleared the request's endpoint by now; the feature keeps the one that failed.
        var endpoint = httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? httpContext.GetEndpoint();
        var json = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var (path, message) = Describe(bad, endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType,
            endpoint?.Metadata.GetMetadata<MethodInfo>(), json);
        return await WriteAsync(problems, httpContext, path, message);
    }

    /// <summary>Answers the 400 validation problem naming <paramref name="path"/>.</summary>
    public static Task<bool> WriteAsync(IProblemDetailsService problems, HttpContext httpContext, string path, string message)
    {
        var validation = new RequestValidation();
        validation.Add(path, message);
        httpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        return problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new HttpValidationProblemDetails(validation.ToDictionary())
            {
                Status = StatusCodes.Status400BadRequest,
                Type = Problems.Type(ValidationProblems.Slug),
                Title = ValidationProblems.Title,
                Detail = path == "$" ? message : $"{path}: {message}",
            },
        }).AsTask();
    }

    /// <summary>
    /// Where the request is wrong (a JSON path or a parameter name) and what is wrong there. What a JSON value should
    /// have been is read from the body type's JSON metadata along the path, and a parameter's type from the handler.
    /// </summary>
    public static (string Path, string Message) Describe(BadHttpRequestException bad, Type? bodyType, MethodInfo? handler,
        JsonSerializerOptions options)
    {
        if (bad.InnerException is JsonException json)
        {
            return (PathKey(json.Path), DescribeJson(json, bodyType is null ? null : TypeAt(bodyType, json.Path, options)));
        }

        if (FailedToBind().Match(bad.Message) is { Success: true } failed)
        {
            var name = failed.Groups["name"].Value;
            var type = handler?.GetParameters().FirstOrDefault(p => p.Name == name)?.ParameterType;
            return (name, $"Expected {(type is null ? "a valid value" : Expected(type))}, got \"{failed.Groups["value"].Value}\".");
        }

        if (NotProvided().Match(bad.Message) is { Success: true } missing)
        {
            return missing.Groups["source"].Value == "body"
                ? ("$", "A JSON body is required.")
                : (missing.Groups["name"].Value, "Required.");
        }

        return bad.Message.Contains("body", StringComparison.OrdinalIgnoreCase)
            ? ("$", "A JSON body is required.")
            : ("$", "The request could not be read.");
    }

    /// <summary>
    /// The query or route parameter that could not be read, for a 400 the framework answered without an exception
    /// (the Request Delegate Generator refuses an optional parameter that does not parse by status code alone).
    /// </summary>
    public static (string Path, string Message)? DescribeUnreadableParameter(HttpContext context)
    {
        foreach (var parameter in context.GetEndpoint()?.Metadata.GetOrderedMetadata<IParameterBindingMetadata>() ?? [])
        {
            if (!parameter.HasTryParse)
            {
                continue;
            }

            string? raw = context.Request.Query.TryGetValue(parameter.Name, out var query) ? query.ToString()
                : context.Request.RouteValues.TryGetValue(parameter.Name, out var route) ? route?.ToString() : null;
            var type = parameter.ParameterInfo.ParameterType;
            if (!string.IsNullOrEmpty(raw) && !Parses(Nullable.GetUnderlyingType(type) ?? type, raw))
            {
                return (parameter.Name, $"Expected {Expected(type)}, got \"{raw}\".");
            }
        }

        return null;
    }

    private static bool Parses(Type type, string raw) => type switch
    {
        _ when type == typeof(int) => int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        _ when type == typeof(long) => long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        _ when type == typeof(decimal) => decimal.TryParse(raw, NumberStyles.Number, CultureInfo.InvariantCulture, out _),
        _ when type == typeof(double) => double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
        _ when type == typeof(bool) => bool.TryParse(raw, out _),
        _ when type == typeof(Guid) => Guid.TryParse(raw, out _),
        _ when type == typeof(DateTimeOffset) => DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
        _ => true, // A type we cannot check here: the generic 400 stands.
    };

    private static string DescribeJson(JsonException json, Type? expected)
    {
        var at = json.LineNumber is { } line && json.BytePositionInLine is { } position
            ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, position {position + 1}")
            : "";

        // The reader's own exception is a syntax error; the serializer's is a value of the wrong type.
        if (json.InnerException is { } inner && inner.GetType().Name == "JsonReaderException")
        {
            return $"Malformed JSON{at}: {StripLocation(inner.Message)}";
        }

        if (json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) || json.InnerException is FormatException or InvalidOperationException)
        {
            return $"Expected {(expected is null ? "another kind of value" : Expected(expected))}{at}.";
        }

        return $"{StripLocation(json.Message)}{(at.Length > 0 ? $" ({at.TrimStart()})" : "")}";
    }

    /// <summary>The declared type at a System.Text.Json path (<c>$.items[0].quantity</c>) of <paramref name="root"/>.</summary>
    private static Type? TypeAt(Type root, string? path, JsonSerializerOptions options)
    {
        var type = root;
        foreach (Match segment in PathSegment().Matches(path ?? ""))
        {
            JsonTypeInfo info;
            try
            {
                info = options.GetTypeInfo(type);
            }
            catch (Exception e) when (e is NotSupportedException or InvalidOperationException)
            {
                return null;
            }

            if (segment.Groups["index"].Success)
            {
                type = info.ElementType;
            }
            else
            {
                var name = segment.Groups["name"].Success ? segment.Groups["name"].Value : segment.Groups["quoted"].Value.Replace("''", "'", StringComparison.Ordinal);
                type = info.Properties.FirstOrDefault(p => p.Name == name)?.PropertyType;
            }

            if (type is null)
            {
                return null;
            }
        }

        return type;
    }

    /// <summary>System.Text.Json's path (<c>$.items[0].quantity</c>) as the validation keys name it (<c>items[0].quantity</c>).</summary>
    private static string PathKey(string? path) => path switch
    {
        null or "" or "$" => "$",
        _ when path.StartsWith("$.", StringComparison.Ordinal) => path[2..],
        _ => path,
    };

    /// <summary>What a .NET type means to a caller who writes JSON.</summary>
    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(int) => "a whole number from -2147483648 to 2147483647",
            _ when type == typeof(long) => "a whole number",
            _ when type == typeof(decimal) || type == typeof(double) => "a number",
            _ when type == typeof(string) => "a string",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => "an ISO 8601 date and time",
            _ when type.IsEnum => "one of the documented values",
            _ when type != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(type)
                && !type.Name.Contains("Dictionary", StringComparison.Ordinal) => "an array",
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

    [GeneratedRegex("""\.(?<name>[^.\[]+)|\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>[0-9]+)\]""")]
    private static partial Regex PathSegment();
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
