using System.Text.Json;
using System.Text.RegularExpressions;
using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.Invoke;

/// <summary>What kind of Lambda event a file holds, told apart the way the functions' triggers produce them.</summary>
public enum LambdaEventKind
{
    HttpApi,
    Sqs,
    DynamoDbStream,
    WebSocket,
}

/// <summary>
/// A Lambda event as read from a file: its kind and the source it names (the HTTP API route key, the queue or
/// the table, the WebSocket route key).
/// </summary>
public sealed record LambdaEvent(LambdaEventKind Kind, string Source)
{
    public string Describe() => Kind switch
    {
        LambdaEventKind.HttpApi => $"an API Gateway HTTP API v2 request ({Source})",
        LambdaEventKind.Sqs => $"an SQS batch from queue {Source}",
        LambdaEventKind.DynamoDbStream => $"a DynamoDB stream batch from table {Source}",
        _ => $"an API Gateway WebSocket event (route {Source})",
    };

    /// <summary>The kind of event the JSON is, or why it is none a function of this template receives.</summary>
    public static LambdaEvent Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvokeUsageException("the event is not a JSON object.");
        }

        if (root.TryGetProperty("Records", out var records))
        {
            var sources = records.ValueKind == JsonValueKind.Array
                ? records.EnumerateArray().Select(r => (Source: Text(r, "eventSource"), Arn: Text(r, "eventSourceARN"))).Distinct().ToList()
                : [];
            return sources switch
            {
                [] => throw new InvokeUsageException("its Records array is empty or missing; a Lambda batch holds at least one record."),
                [("aws:sqs", { } arn)] => new LambdaEvent(LambdaEventKind.Sqs, arn[(arn.LastIndexOf(':') + 1)..]),
                [("aws:dynamodb", { } arn)] when TableOfStream(arn) is { } table => new LambdaEvent(LambdaEventKind.DynamoDbStream, table),
                [_] => throw new InvokeUsageException(
                    $"records of event source '{sources[0].Source}' with eventSourceARN '{sources[0].Arn}' are not an SQS queue's or a DynamoDB stream's."),
                _ => throw new InvokeUsageException("its records come from several event sources; Lambda batches hold one source's records."),
            };
        }

        var context = root.TryGetProperty("requestContext", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        if (Text(root, "version") == "2.0" && context.ValueKind == JsonValueKind.Object
            && context.TryGetProperty("http", out var http) && http.ValueKind == JsonValueKind.Object)
        {
            var method = Text(http, "method") ?? throw new InvokeUsageException("requestContext.http.method is missing.");
            var path = Text(root, "rawPath") ?? throw new InvokeUsageException("rawPath is missing.");
            return new LambdaEvent(LambdaEventKind.HttpApi, Text(context, "routeKey") is { } key and not "$default" ? key : $"{method} {path}");
        }

        if (context.ValueKind == JsonValueKind.Object && Text(context, "routeKey") is { } route
            && Text(context, "eventType") is "CONNECT" or "DISCONNECT" or "MESSAGE")
        {
            return new LambdaEvent(LambdaEventKind.WebSocket, route);
        }

        if (root.TryGetProperty("httpMethod", out _))
        {
            throw new InvokeUsageException("it is an API Gateway REST API (payload format 1.0) event; this template's HTTP API sends payload format 2.0 (\"version\": \"2.0\").");
        }

        throw new InvokeUsageException(
            "it is not an event a function of template.yaml receives: expected an API Gateway HTTP API v2 request, an SQS or DynamoDB stream batch (Records), or an API Gateway WebSocket event.");
    }

    /// <summary>arn:aws:dynamodb:region:account:table/NAME/stream/LABEL → NAME.</summary>
    public static string? TableOfStream(string arn)
    {
        var match = Regex.Match(arn, ":table/([^/]+)/stream/");
        return match.Success ? match.Groups[1].Value : null;
    }

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

/// <summary>The invocation cannot be made as asked (an unreadable file, an event the function has no trigger for).</summary>
public sealed class InvokeUsageException(string message) : Exception(message);

/// <summary>
/// The triggers template.yaml gives one function: its HttpApi routes, the queues and streams of its SQS and
/// DynamoDB events, and the WebSocket routes whose integration calls it.
/// </summary>
public sealed record FunctionTriggers(
    string Function,
    IReadOnlyList<string> HttpRoutes,
    IReadOnlyList<string> Queues,
    IReadOnlyList<string> StreamTables,
    IReadOnlyList<string> WebSocketRoutes)
{
    public static FunctionTriggers Of(SamTemplate template, TemplateResource function)
    {
        var routes = new List<string>();
        var queues = new List<string>();
        var tables = new List<string>();
        if (function.Property("Events") is YamlMappingNode events)
        {
            foreach (var (_, node) in events.Children)
            {
                var properties = SamTemplate.Child(node, "Properties");
                switch ((SamTemplate.Child(node, "Type") as YamlScalarNode)?.Value)
                {
                    case "HttpApi":
                        var method = (SamTemplate.Child(properties, "Method") as YamlScalarNode)?.Value?.ToUpperInvariant() ?? "ANY";
                        var path = (SamTemplate.Child(properties, "Path") as YamlScalarNode)?.Value ?? "/{proxy+}";
                        routes.Add($"{(method == "X-AMAZON-APIGATEWAY-ANY-METHOD" ? "ANY" : method)} {path}");
                        break;
                    case "SQS" when GetAttTarget(SamTemplate.Child(properties, "Queue")) is { } queue:
                        queues.Add(queue);
                        break;
                    case "DynamoDB" when GetAttTarget(SamTemplate.Child(properties, "Stream")) is { } table:
                        tables.Add(table);
                        break;
                }
            }
        }

        return new FunctionTriggers(function.LogicalId, routes, queues, tables, WebSocketRoutesOf(template, function.LogicalId));
    }

    /// <summary>Route keys of the WebSocket routes whose integration invokes the function (${Function.Arn} in its URI).</summary>
    private static List<string> WebSocketRoutesOf(SamTemplate template, string function)
    {
        var integrations = template.ResourcesOfType("AWS::ApiGatewayV2::Integration")
            .Where(i => i.Property("IntegrationUri")?.AllNodes.OfType<YamlScalarNode>()
                .Any(s => s.Value?.Contains($"${{{function}.Arn}}", StringComparison.Ordinal) == true) == true)
            .Select(i => i.LogicalId)
            .ToList();
        return template.ResourcesOfType("AWS::ApiGatewayV2::Route")
            .Where(r => r.Property("Target")?.AllNodes.OfType<YamlScalarNode>()
                .Any(s => integrations.Any(i => s.Value?.Contains($"${{{i}}}", StringComparison.Ordinal) == true)) == true)
            .Select(r => (r.Property("RouteKey") as YamlScalarNode)?.Value)
            .OfType<string>()
            .ToList();
    }

    /// <summary>!GetAtt Name.Attr (either form) → Name.</summary>
    private static string? GetAttTarget(YamlNode? node) => node switch
    {
        YamlScalarNode { Tag.Value: "!GetAtt" } scalar => scalar.Value?.Split('.')[0],
        YamlSequenceNode { Tag.Value: "!GetAtt" } sequence => (sequence.Children.FirstOrDefault() as YamlScalarNode)?.Value,
        YamlMappingNode map when SamTemplate.Child(map, "Fn::GetAtt") is { } inner => inner switch
        {
            YamlScalarNode s => s.Value?.Split('.')[0],
            YamlSequenceNode s => (s.Children.FirstOrDefault() as YamlScalarNode)?.Value,
            _ => null,
        },
        _ => null,
    };

    public bool IsEmpty => HttpRoutes.Count + Queues.Count + StreamTables.Count + WebSocketRoutes.Count == 0;

    /// <summary>What the function is triggered by, for messages.</summary>
    public string Describe(StackNames names)
    {
        var parts = new List<string>();
        if (HttpRoutes.Count > 0)
        {
            parts.Add($"HTTP API routes {string.Join(", ", HttpRoutes)}");
        }

        parts.AddRange(Queues.Select(q => $"SQS queue {names.Queue(q)}"));
        parts.AddRange(StreamTables.Select(t => $"the stream of table {names.Table(t)}"));
        if (WebSocketRoutes.Count > 0)
        {
            parts.Add($"WebSocket routes {string.Join(", ", WebSocketRoutes)}");
        }

        return parts.Count == 0 ? "no event source in template.yaml" : string.Join("; ", parts);
    }

    /// <summary>True when an HttpApi route of the function matches "METHOD /path" (or is that route key).</summary>
    public bool HasRoute(string routeKey)
    {
        var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            return false;
        }

        var (method, path) = (routeKey[..space], routeKey[(space + 1)..]);
        return HttpRoutes.Any(route =>
        {
            var routeSpace = route.IndexOf(' ', StringComparison.Ordinal);
            var (routeMethod, routePath) = (route[..routeSpace], route[(routeSpace + 1)..]);
            return (routeMethod == "ANY" || routeMethod.Equals(method, StringComparison.OrdinalIgnoreCase))
                && (routePath == path || PathPattern(routePath).IsMatch(path));
        });
    }

    /// <summary>/orders/{id} → ^/orders/[^/]+$; a greedy {proxy+} matches the rest of the path.</summary>
    private static Regex PathPattern(string routePath) =>
        new("^" + string.Join('/', routePath.Split('/').Select(segment =>
            segment.StartsWith('{') && segment.EndsWith("+}", StringComparison.Ordinal) ? ".+"
            : segment.StartsWith('{') && segment.EndsWith('}') ? "[^/]+"
            : Regex.Escape(segment))) + "$");
}

/// <summary>The names the template's tables and queues get under a stack name (resolved without creating anything).</summary>
public sealed class StackNames(SamTemplate template, string stackName, IReadOnlyDictionary<string, string> parameters)
{
    private readonly StackContext _context = new(stackName, Cloud.LocalCloud.Region, "000000000000", parameters);

    public string StackName => stackName;

    public string Queue(string logicalId) =>
        _context.Resolve(template.Resources.FirstOrDefault(r => r.LogicalId == logicalId)?.Property("QueueName")) ?? logicalId;

    public string Table(string logicalId) =>
        _context.Resolve(template.Resources.FirstOrDefault(r => r.LogicalId == logicalId)?.Property("TableName")) ?? logicalId;

    /// <summary>
    /// The template queue (or table) a name from an event stands for: its name under this stack, or the same
    /// resource of another stack (same name after the stack-name prefix, e.g. a sample recorded on a deployed
    /// stack); the longest such suffix wins.
    /// </summary>
    public string? FindResource(string type, string name, Func<string, string> nameOf)
    {
        var candidates = template.ResourcesOfType(type).Select(r => (r.LogicalId, Name: nameOf(r.LogicalId))).ToList();
        if (candidates.FirstOrDefault(c => c.Name == name) is { LogicalId: not null } exact)
        {
            return exact.LogicalId;
        }

        return candidates
            .Where(c => c.Name.StartsWith(stackName, StringComparison.Ordinal))
            .Select(c => (c.LogicalId, Suffix: c.Name[stackName.Length..]))
            .Where(c => c.Suffix.Length > 0 && name.EndsWith(c.Suffix, StringComparison.Ordinal))
            .OrderByDescending(c => c.Suffix.Length)
            .Select(c => c.LogicalId)
            .FirstOrDefault();
    }
}
