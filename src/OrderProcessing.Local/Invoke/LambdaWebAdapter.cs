using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrderProcessing.Local.Invoke;

/// <summary>
/// What the AWS Lambda Web Adapter does between Lambda and the app (awslabs/aws-lambda-web-adapter with
/// lambda_http): an API Gateway HTTP API v2 event becomes the HTTP request it describes and the response
/// becomes the API Gateway proxy result; any other event is POSTed as it is to the pass-through path and the
/// response body, read as JSON, is the function result. A status listed in AWS_LWA_ERROR_STATUS_CODES fails
/// the invocation instead.
/// </summary>
public static class LambdaWebAdapter
{
    /// <summary>The request an HTTP API v2 event describes: method, rawPath, rawQueryString, headers, cookies, body.</summary>
    public static HttpRequestMessage ToHttpRequest(JsonElement e, string lambdaContext)
    {
        var context = e.GetProperty("requestContext");
        var query = e.TryGetProperty("rawQueryString", out var q) && q.GetString() is { Length: > 0 } raw ? "?" + raw : "";
        var request = new HttpRequestMessage(new HttpMethod(context.GetProperty("http").GetProperty("method").GetString()!),
            new Uri(e.GetProperty("rawPath").GetString() + query, UriKind.Relative));
        if (e.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.String)
        {
            var text = body.GetString()!;
            request.Content = new ByteArrayContent(e.TryGetProperty("isBase64Encoded", out var encoded) && encoded.ValueKind == JsonValueKind.True
                ? Convert.FromBase64String(text)
                : Encoding.UTF8.GetBytes(text));
        }

        if (e.TryGetProperty("headers", out var headers) && headers.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in headers.EnumerateObject())
            {
                var value = header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString()! : JsonSerializer.Serialize(header.Value);
                if (header.Name.Equals("content-length", StringComparison.OrdinalIgnoreCase))
                {
                    continue; // recomputed from the body
                }

                if (header.Name.Equals("host", StringComparison.OrdinalIgnoreCase))
                {
                    request.Headers.Host = value;
                }
                else if (!request.Headers.TryAddWithoutValidation(header.Name, value))
                {
                    request.Content ??= new ByteArrayContent([]);
                    request.Content.Headers.TryAddWithoutValidation(header.Name, value);
                }
            }
        }

        // Payload format 2.0 carries cookies apart from the headers.
        if (e.TryGetProperty("cookies", out var cookies) && cookies.ValueKind == JsonValueKind.Array && cookies.GetArrayLength() > 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", cookies.EnumerateArray().Select(c => c.GetString())));
        }

        request.Headers.TryAddWithoutValidation("x-amzn-request-context", JsonSerializer.Serialize(context));
        request.Headers.TryAddWithoutValidation("x-amzn-lambda-context", lambdaContext);
        return request;
    }

    /// <summary>Any other event: the raw JSON, POSTed to the pass-through path.</summary>
    public static HttpRequestMessage ToPassThroughRequest(string json, string path, string lambdaContext)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("x-amzn-lambda-context", lambdaContext);
        return request;
    }

    /// <summary>
    /// The API Gateway HTTP API proxy result of a response, as lambda_http builds it: lower-case headers (values of
    /// a repeated header joined by commas), Set-Cookie moved to cookies, text bodies as they are and other bodies
    /// base64-encoded, no body when there is none.
    /// </summary>
    public static async Task<JsonObject> ToHttpApiResultAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = new JsonObject();
        var cookies = new JsonArray();
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            var key = name.ToLowerInvariant();
            if (key == "set-cookie")
            {
                foreach (var cookie in values)
                {
                    cookies.Add(cookie);
                }
            }
            else if (key != "transfer-encoding")
            {
                headers[key] = string.Join(",", values);
            }
        }

        var result = new JsonObject
        {
            ["statusCode"] = (int)response.StatusCode,
            ["headers"] = headers,
        };
        var isText = IsText(response.Content.Headers);
        if (bytes.Length > 0)
        {
            result["body"] = isText ? Encoding.UTF8.GetString(bytes) : Convert.ToBase64String(bytes);
        }

        result["isBase64Encoded"] = bytes.Length > 0 && !isText;
        result["cookies"] = cookies;
        return result;
    }

    /// <summary>The function result of a pass-through response: its body as JSON, or null when it is not JSON.</summary>
    public static JsonNode? ToPassThroughResult(string body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>lambda_http's rule: no content type, a text type, a +json/+xml type or a charset is text; anything else is binary.</summary>
    private static bool IsText(HttpContentHeaders headers)
    {
        if (headers.ContentEncoding.Count > 0)
        {
            return false;
        }

        if (headers.ContentType is not { } type)
        {
            return true;
        }

        var media = type.MediaType ?? "";
        return media.StartsWith("text", StringComparison.OrdinalIgnoreCase)
            || media is "application/json" or "application/javascript" or "application/xml" or "application/problem+json"
            || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase)
            || media.EndsWith("+xml", StringComparison.OrdinalIgnoreCase)
            || media.EndsWith("+yaml", StringComparison.OrdinalIgnoreCase)
            || type.CharSet is not null;
    }

    /// <summary>AWS_LWA_ERROR_STATUS_CODES: "500-599", "500,502-504,422"; anything unreadable is ignored, as the adapter does.</summary>
    public static IReadOnlySet<int> ParseStatusCodes(string? text)
    {
        var codes = new HashSet<int>();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-', 2, StringSplitOptions.TrimEntries);
            if (range.Length == 1 && int.TryParse(range[0], CultureInfo.InvariantCulture, out var single))
            {
                codes.Add(single);
            }
            else if (range.Length == 2 && int.TryParse(range[0], CultureInfo.InvariantCulture, out var from)
                     && int.TryParse(range[1], CultureInfo.InvariantCulture, out var to) && from <= to)
            {
                codes.UnionWith(Enumerable.Range(from, to - from + 1));
            }
            else
            {
                return new HashSet<int>();
            }
        }

        return codes;
    }
}
