using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Tests.Deployment;

/// <summary>
/// template.yaml held to the app it deploys: API Gateway routes, WebSocket route keys, partial batch responses,
/// redrive policies and the table and queue variables the app reads. Without Amazon.Lambda.Annotations nothing
/// generates the template from the code, so these tests are what keeps the two from drifting apart.
/// </summary>
public sealed partial class TemplateConsistencyTests(CloudFixture cloud)
{
    /// <summary>Served by the app but deliberately not routed by the HTTP API.</summary>
    private static readonly string[] UnroutedPrefixes = ["/events", "/health", "/openapi", "/scalar", "/app"];

    [Fact]
    public async Task Every_HttpApi_route_of_the_template_is_served_by_the_app_and_every_app_endpoint_has_a_route()
    {
        await using var app = new AppFactory(cloud, await cloud.ProvisionAsync("routes"));
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Select(e => new AppEndpoint(
                "/" + (e.RoutePattern.RawText ?? "").TrimStart('/'),
                e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []))
            .ToList();
        var routes = HttpApiRoutes(cloud.Template).ToList();
        Assert.NotEmpty(routes);

        var unserved = routes
            .Where(route => !endpoints.Any(e => e.Serves(route.Method, route.Path)))
            .Select(route => $"{route.Method} {route.Path} ({route.Function})");
        Assert.Empty(unserved);

        var unrouted = endpoints
            .Where(e => !UnroutedPrefixes.Any(prefix => e.Template.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
            .SelectMany(e => e.Methods.Select(method => (Method: method, Path: Normalise(e.Template))))
            .Where(e => !routes.Any(route => route.Method == e.Method && Normalise(route.Path) == e.Path))
            .Select(e => $"{e.Method} {e.Path}");
        Assert.Empty(unrouted);
    }

    [Fact]
    public async Task Every_WebSocket_route_the_app_handles_has_an_ApiGatewayV2_route_and_every_route_a_handler()
    {
        await using var app = new AppFactory(cloud, await cloud.ProvisionAsync("ws-routes"));
        var handled = app.Services.GetServices<EventHandlerRegistration>()
            .Where(r => r.Kind == EventSourceKind.WebSocketRoute)
            .Select(r => r.SourceName(app.Services))
            .Order(StringComparer.Ordinal)
            .ToList();
        var routed = cloud.Template.ResourcesOfType("AWS::ApiGatewayV2::Route")
            .Select(r => Scalar(r.Property("RouteKey")) ?? "")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Contains("$connect", handled);
        Assert.Equal(handled, routed);
    }

    [Fact]
    public void Every_SQS_and_stream_event_source_reports_partial_batch_failures()
    {
        var sources = cloud.Template.ResourcesOfType("AWS::Serverless::Function")
            .SelectMany(f => Events(f).Select(e => (Function: f.LogicalId, Event: e.Name, e.Type, e.Properties)))
            .Where(e => e.Type is "SQS" or "DynamoDB" or "Kinesis")
            .ToList();

        Assert.Contains(sources, s => s.Type == "SQS");
        Assert.Contains(sources, s => s.Type == "DynamoDB");
        Assert.All(sources, s => Assert.True(
            Child(s.Properties, "FunctionResponseTypes") is YamlSequenceNode types
                && types.Children.Any(t => Scalar(t) == "ReportBatchItemFailures"),
            $"{s.Function}.{s.Event} ({s.Type}) must have FunctionResponseTypes: [ReportBatchItemFailures]."));
    }

    [Fact]
    public void Every_queue_that_is_not_a_dead_letter_or_failure_destination_has_a_redrive_policy()
    {
        var queues = cloud.Template.ResourcesOfType("AWS::SQS::Queue").ToList();
        var deadLetterTargets = queues
            .Select(q => Child(q.Property("RedrivePolicy"), "deadLetterTargetArn"))
            .Select(GetAttTarget)
            .OfType<string>()
            .ToHashSet();
        var failureDestinations = cloud.Template.ResourcesOfType("AWS::Serverless::Function")
            .SelectMany(Events)
            .Select(e => Child(Child(Child(e.Properties, "DestinationConfig"), "OnFailure"), "Destination"))
            .Select(GetAttTarget)
            .OfType<string>()
            .ToHashSet();
        Assert.NotEmpty(deadLetterTargets);
        Assert.NotEmpty(failureDestinations);

        var withoutRedrive = queues
            .Where(q => !deadLetterTargets.Contains(q.LogicalId) && !failureDestinations.Contains(q.LogicalId))
            .Where(q => Child(q.Property("RedrivePolicy"), "deadLetterTargetArn") is null
                || Scalar(Child(q.Property("RedrivePolicy"), "maxReceiveCount")) is null)
            .Select(q => q.LogicalId);
        Assert.Empty(withoutRedrive);
    }

    [Fact]
    public void Every_table_and_queue_variable_the_app_reads_is_given_to_the_functions_and_refers_to_a_declared_resource()
    {
        var environment = cloud.Template.FunctionEnvironment().ToList();
        var resources = cloud.Template.Resources.ToDictionary(r => r.LogicalId, r => r.Type);

        var missing = ResourceNames.TableVariables.Concat(ResourceNames.QueueVariables)
            .Where(variable => environment.All(e => e.Key != variable));
        Assert.Empty(missing);

        var dangling = environment
            .Where(e => e.Key.EndsWith("_TABLE", StringComparison.Ordinal) || e.Key.EndsWith("_QUEUE_URL", StringComparison.Ordinal))
            .Where(e =>
            {
                var expected = e.Key.EndsWith("_TABLE", StringComparison.Ordinal) ? "AWS::DynamoDB::Table" : "AWS::SQS::Queue";
                return RefTarget(e.Value) is not { } target || resources.GetValueOrDefault(target) != expected;
            })
            .Select(e => $"{e.Key}: {e.Value}");
        Assert.Empty(dangling);
    }

    /// <summary>A route template with parameter names and constraints dropped: /orders/{id:guid} → /orders/{}.</summary>
    internal static string Normalise(string path) => Parameter().Replace("/" + path.Trim('/'), "{}");

    private static IEnumerable<(string Function, string Method, string Path)> HttpApiRoutes(SamTemplate template) =>
        template.ResourcesOfType("AWS::Serverless::Function")
            .SelectMany(f => Events(f)
                .Where(e => e.Type == "HttpApi")
                .Select(e => (f.LogicalId,
                    (Scalar(Child(e.Properties, "Method")) ?? "").ToUpperInvariant(),
                    Scalar(Child(e.Properties, "Path")) ?? "")));

    private static IEnumerable<(string Name, string Type, YamlMappingNode Properties)> Events(TemplateResource function) =>
        function.Property("Events") is YamlMappingNode events
            ? events.Children.Select(p => (
                Scalar(p.Key) ?? "",
                Scalar(Child(p.Value, "Type")) ?? "",
                Child(p.Value, "Properties") as YamlMappingNode ?? new YamlMappingNode()))
            : [];

    private static string? Scalar(YamlNode? node) => (node as YamlScalarNode)?.Value;

    private static YamlNode? Child(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>The logical id of <c>!Ref X</c> or <c>{Ref: X}</c>.</summary>
    private static string? RefTarget(YamlNode node) => node switch
    {
        YamlScalarNode scalar when StackContext.TagOf(scalar) == "!Ref" => scalar.Value,
        YamlMappingNode { Children.Count: 1 } map when Scalar(map.Children.Keys.First()) == "Ref" => Scalar(map.Children.Values.First()),
        _ => null,
    };

    /// <summary>The logical id of <c>!GetAtt X.Arn</c> or <c>{Fn::GetAtt: [X, Arn]}</c>.</summary>
    private static string? GetAttTarget(YamlNode? node) => node switch
    {
        YamlScalarNode scalar when StackContext.TagOf(scalar) == "!GetAtt" => scalar.Value?.Split('.')[0],
        YamlSequenceNode sequence when StackContext.TagOf(sequence) == "!GetAtt" => Scalar(sequence.Children[0]),
        YamlMappingNode { Children.Count: 1 } map when Scalar(map.Children.Keys.First()) == "Fn::GetAtt" =>
            map.Children.Values.First() switch
            {
                YamlSequenceNode sequence => Scalar(sequence.Children[0]),
                var value => Scalar(value)?.Split('.')[0],
            },
        _ => null,
    };

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Parameter();

    /// <summary>An endpoint of the app; no method metadata means it answers every method.</summary>
    private sealed record AppEndpoint(string Template, IReadOnlyList<string> Methods)
    {
        private readonly Regex _pattern = new(
            "^" + string.Join("[^/]+", Normalise(Template).Split("{}").Select(Regex.Escape)) + "$",
            RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        /// <summary>Whether a request for this API Gateway route reaches this endpoint ({} of the route matches any segment).</summary>
        public bool Serves(string method, string routePath) =>
            (Methods.Count == 0 || Methods.Contains(method, StringComparer.OrdinalIgnoreCase))
            && _pattern.IsMatch(Normalise(routePath));
    }
}
