using System.Text.Json;
using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Tests.Deployment;

/// <summary>
/// The functions of template.yaml as Lambda sees them: which function an event reaches (by the routes and event
/// sources the template gives it) and the environment it runs with (the Globals' variables and its own, nothing
/// of the other functions'), resolved against a provisioned stack.
/// </summary>
internal static class TemplateFunctions
{
    /// <summary>The stack name the samples in events/ are written for.</summary>
    public const string SampleStack = "orderprocessing";

    public static IEnumerable<TemplateResource> AllFunctions(SamTemplate template) => template.ResourcesOfType("AWS::Serverless::Function");

    /// <summary>The function's environment on Lambda, with values as the local host resolves them for <paramref name="stack"/>.</summary>
    public static ProvisionedStack OnlyFunction(SamTemplate template, ProvisionedStack stack, string function)
    {
        var names = template.FunctionEnvironment(function).Select(v => v.Key).ToHashSet(StringComparer.Ordinal);
        return stack with
        {
            Environment = stack.Environment.Where(e => names.Contains(e.Key)).ToDictionary(e => e.Key, e => e.Value),
        };
    }

    /// <summary>The logical id of the function a sample event reaches on Lambda, or null when no trigger leads there.</summary>
    public static string? FunctionFor(SamTemplate template, JsonElement lambdaEvent)
    {
        if (lambdaEvent.TryGetProperty("version", out var version) && version.GetString() == "2.0")
        {
            var routeKey = lambdaEvent.GetProperty("routeKey").GetString()!.Split(' ', 2);
            return AllFunctions(template).FirstOrDefault(f => EventsOf(f).Any(e => e.Type == "HttpApi"
                && string.Equals(Text(Child(e.Properties, "Method")), routeKey[0], StringComparison.OrdinalIgnoreCase)
                && Text(Child(e.Properties, "Path")) == routeKey[1]))?.LogicalId;
        }

        if (lambdaEvent.TryGetProperty("Records", out var records))
        {
            var record = records[0];
            var arn = record.GetProperty("eventSourceARN").GetString()!;
            var (eventType, resourceType, nameProperty, sourceProperty, name) = record.GetProperty("eventSource").GetString() switch
            {
                "aws:sqs" => ("SQS", "AWS::SQS::Queue", "QueueName", "Queue", arn[(arn.LastIndexOf(':') + 1)..]),
                "aws:dynamodb" => ("DynamoDB", "AWS::DynamoDB::Table", "TableName", "Stream", arn.Split('/')[1]),
                var other => throw new InvalidDataException($"Event source {other} is not one the template uses."),
            };
            var resource = template.ResourcesOfType(resourceType)
                .FirstOrDefault(r => SampleName(r.Property(nameProperty)) == name)?.LogicalId;
            return AllFunctions(template).FirstOrDefault(f => EventsOf(f).Any(e => e.Type == eventType
                && GetAttTarget(Child(e.Properties, sourceProperty)) == resource))?.LogicalId;
        }

        // A WebSocket route event: the function the WebSocket API's integrations invoke.
        return template.ResourcesOfType("AWS::ApiGatewayV2::Integration")
            .Select(i => Text(i.Property("IntegrationUri")) ?? "")
            .Select(uri => AllFunctions(template).FirstOrDefault(f => uri.Contains($"${{{f.LogicalId}.Arn}}", StringComparison.Ordinal))?.LogicalId)
            .FirstOrDefault(f => f is not null);
    }

    /// <summary>The events of a function: name, type and properties.</summary>
    public static IEnumerable<(string Name, string Type, YamlMappingNode Properties)> EventsOf(TemplateResource function) =>
        function.Property("Events") is YamlMappingNode events
            ? events.Children.Select(p => (
                Text(p.Key) ?? "",
                Text(Child(p.Value, "Type")) ?? "",
                Child(p.Value, "Properties") as YamlMappingNode ?? new YamlMappingNode()))
            : [];

    public static string? Text(YamlNode? node) => (node as YamlScalarNode)?.Value;

    public static YamlNode? Child(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>The logical id of <c>!Ref X</c> or <c>{Ref: X}</c>.</summary>
    public static string? RefTarget(YamlNode? node) => node switch
    {
        YamlScalarNode scalar when StackContext.TagOf(scalar) == "!Ref" => scalar.Value,
        YamlMappingNode { Children.Count: 1 } map when Text(map.Children.Keys.First()) == "Ref" => Text(map.Children.Values.First()),
        _ => null,
    };

    /// <summary>The logical id of <c>!GetAtt X.Arn</c> or <c>{Fn::GetAtt: [X, Arn]}</c>.</summary>
    public static string? GetAttTarget(YamlNode? node) => node switch
    {
        YamlScalarNode scalar when StackContext.TagOf(scalar) == "!GetAtt" => scalar.Value?.Split('.')[0],
        YamlSequenceNode sequence when StackContext.TagOf(sequence) == "!GetAtt" => Text(sequence.Children[0]),
        YamlMappingNode { Children.Count: 1 } map when Text(map.Children.Keys.First()) == "Fn::GetAtt" =>
            map.Children.Values.First() switch
            {
                YamlSequenceNode sequence => Text(sequence.Children[0]),
                var value => Text(value)?.Split('.')[0],
            },
        _ => null,
    };

    /// <summary>A resource's <c>!Sub "${AWS::StackName}-name"</c> as it is in the samples' stack.</summary>
    private static string? SampleName(YamlNode? node) => Text(node)?.Replace("${AWS::StackName}", SampleStack, StringComparison.Ordinal);
}
