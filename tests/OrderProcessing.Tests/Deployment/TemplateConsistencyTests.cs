using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;
using static OrderProcessing.Tests.Deployment.TemplateFunctions;

namespace OrderProcessing.Tests.Deployment;

/// <summary>
/// template.yaml held to the app it deploys: API Gateway routes, WebSocket route keys, partial batch responses,
/// redrive policies and the table and queue variables the app reads. Without Amazon.Lambda.Annotations nothing
/// generates the template from the code, so these tests are what keeps the two from drifting apart.
/// </summary>
public sealed partial class TemplateConsistencyTests(CloudFixture cloud, AppFixture shared) : IClassFixture<AppFixture>
{
    /// <summary>Served by the app but deliberately not routed by the HTTP API.</summary>
    private static readonly string[] UnroutedPrefixes = ["/events", "/health", "/openapi", "/scalar", "/app"];

    [Fact]
    public async Task Every_HttpApi_route_of_the_template_is_served_by_the_app_and_every_app_endpoint_has_a_route()
    {
        var app = shared;
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
        var app = shared;
        var handled = app.Services.GetRequiredService<EventRoutes>().WebSocketRoutes.Keys
            .Order(StringComparer.Ordinal)
            .ToList();
        var routed = cloud.Template.ResourcesOfType("AWS::ApiGatewayV2::Route")
            .Select(r => Text(r.Property("RouteKey")) ?? "")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Contains("$connect", handled);
        Assert.Equal(handled, routed);
    }

    [Fact]
    public void Every_SQS_and_stream_event_source_reports_partial_batch_failures()
    {
        var sources = cloud.Template.ResourcesOfType("AWS::Serverless::Function")
            .SelectMany(f => EventsOf(f).Select(e => (Function: f.LogicalId, Event: e.Name, e.Type, e.Properties)))
            .Where(e => e.Type is "SQS" or "DynamoDB" or "Kinesis")
            .ToList();

        Assert.Contains(sources, s => s.Type == "SQS");
        Assert.Contains(sources, s => s.Type == "DynamoDB");
        Assert.All(sources, s => Assert.True(
            Child(s.Properties, "FunctionResponseTypes") is YamlSequenceNode types
                && types.Children.Any(t => Text(t) == "ReportBatchItemFailures"),
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
            .SelectMany(EventsOf)
            .Select(e => Child(Child(Child(e.Properties, "DestinationConfig"), "OnFailure"), "Destination"))
            .Select(GetAttTarget)
            .OfType<string>()
            .ToHashSet();
        Assert.NotEmpty(deadLetterTargets);
        Assert.NotEmpty(failureDestinations);

        var withoutRedrive = queues
            .Where(q => !deadLetterTargets.Contains(q.LogicalId) && !failureDestinations.Contains(q.LogicalId))
            .Where(q => Child(q.Property("RedrivePolicy"), "deadLetterTargetArn") is null
                || Text(Child(q.Property("RedrivePolicy"), "maxReceiveCount")) is null)
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

    /// <summary>Settings every function shares; everything else is given per function.</summary>
    private static readonly string[] SharedVariables =
        ["ASPNETCORE_HTTP_PORTS", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOGGER_SAMPLE_RATE", "STAGE", "Logging__LogLevel__Default"];

    /// <summary>What validating an access token reads: the deny-list, the signing keys, issuer and audience.</summary>
    private static readonly string[] TokenValidationVariables =
        ["RATE_LIMITS_TABLE", "SIGNING_KEY_ID", "SIGNING_PREVIOUS_KEY_IDS", "AUTH_ISSUER", "AUTH_AUDIENCE"];

    private static readonly string[] LambdaAlarmMetrics = ["Errors", "Throttles"];

    /// <summary>The metrics an alarm watches for anomalies (docs/deployment.md, "Alarms and dashboard").</summary>
    private static readonly string[] AlarmedAppMetrics =
        [Metrics.RateLimited, Metrics.IdempotentReplays, Metrics.RefreshReuseDetected, Metrics.StaleStatusEventsIgnored, Metrics.NotificationsGone];

    [Fact]
    public void Globals_hold_only_the_settings_every_function_shares()
    {
        var notShared = cloud.Template.GlobalEnvironment.Select(v => v.Key)
            .Where(k => !SharedVariables.Contains(k) && !k.StartsWith("AWS_LWA_", StringComparison.Ordinal));

        Assert.Empty(notShared);
        Assert.DoesNotContain(cloud.Template.GlobalEnvironment, v => v.Key == "AWS_LWA_ERROR_STATUS_CODES");
    }

    [Fact]
    public void A_variable_given_to_several_functions_has_the_same_value_in_each()
    {
        // The local host runs every function as one app with the union of their variables.
        var conflicting = AllFunctions(cloud.Template)
            .SelectMany(f => cloud.Template.FunctionEnvironment(f.LogicalId))
            .GroupBy(v => v.Key, v => Describe(v.Value))
            .Where(g => g.Distinct().Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(" / ", g.Distinct())}");

        Assert.Empty(conflicting);
    }

    [Fact]
    public async Task Each_queue_and_stream_trigger_reaches_its_handler_with_only_its_own_function_s_environment()
    {
        var stack = await cloud.ProvisionAsync("triggers");
        var triggers = AllFunctions(cloud.Template)
            .SelectMany(f => EventsOf(f).Where(e => e.Type is "SQS" or "DynamoDB").Select(e => (Function: f.LogicalId, Event: e)))
            .ToList();
        Assert.True(triggers.Count >= 4, "DeliveryProcessor, CarrierSimulator, DeliveryStatusApplier and OrderEventsPublisher have triggers.");

        foreach (var (function, trigger) in triggers)
        {
            await using var app = await AppFixture.CreateAsync(cloud, OnlyFunction(cloud.Template, stack, function));
            var routes = app.Services.GetRequiredService<EventRoutes>();
            var (handled, source) = trigger.Type == "SQS"
                ? (routes.Queues.Keys, stack.Queues[GetAttTarget(Child(trigger.Properties, "Queue"))!].Name)
                : (routes.Streams.Keys, stack.Tables[GetAttTarget(Child(trigger.Properties, "Stream"))!]);

            Assert.True(handled.Contains(source), $"{function}.{trigger.Name}: with only its own variables no handler answers for {source}.");
        }
    }

    [Fact]
    public async Task Each_function_that_checks_access_tokens_gets_what_token_validation_reads()
    {
        var app = shared;
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var webSocketFunction = WebSocketFunction(cloud.Template);

        var checking = AllFunctions(cloud.Template)
            .Where(f => f.LogicalId == webSocketFunction || HttpApiRoutes(cloud.Template)
                .Where(r => r.Function == f.LogicalId)
                .Any(r => endpoints.Any(e => ServesRoute(e, r.Method, r.Path) && e.Metadata.GetMetadata<IAllowAnonymous>() is null)))
            .Select(f => f.LogicalId)
            .ToList();
        Assert.Contains("OrdersApi", checking);
        Assert.Contains(webSocketFunction, checking);

        var missing = checking.SelectMany(function =>
        {
            var variables = cloud.Template.FunctionEnvironment(function).Select(v => v.Key).ToHashSet();
            // The deny-list of revoked tokens is on the client's item in the rate-limits table, which HTTP requests
            // also count against; WebSocket $connect only reads it.
            return TokenValidationVariables.Where(v => !variables.Contains(v)).Select(v => $"{function}: {v}");
        });
        Assert.Empty(missing);
    }

    [Fact]
    public void Each_function_may_touch_exactly_the_tables_queues_and_APIs_it_has_variables_for()
    {
        var problems = new List<string>();
        foreach (var function in AllFunctions(cloud.Template))
        {
            var variables = cloud.Template.FunctionEnvironment(function.LogicalId).ToList();
            var policies = Policies(function).ToList();
            string[] Targets(string suffix) => [.. variables.Where(v => v.Key.EndsWith(suffix, StringComparison.Ordinal))
                .Select(v => RefTarget(v.Value)).OfType<string>().Order(StringComparer.Ordinal)];
            string[] PolicyTargets(Func<string, bool> template, string property, Func<YamlNode?, string?> target) =>
                [.. policies.Where(p => template(p.Template)).Select(p => target(Child(p.Parameters, property))).OfType<string>()
                    .Distinct().Order(StringComparer.Ordinal)];

            // A table policy without the variable is a permission nothing uses; a variable without a policy fails at run time.
            // The table whose stream triggers the function is named by its variable too; SAM grants the stream reads.
            var streamTables = EventsOf(function).Where(e => e.Type == "DynamoDB").Select(e => GetAttTarget(Child(e.Properties, "Stream")));
            var tables = Targets("_TABLE");
            var tablePolicies = PolicyTargets(t => t.StartsWith("DynamoDB", StringComparison.Ordinal), "TableName", RefTarget)
                .Union(streamTables.OfType<string>()).Order(StringComparer.Ordinal).ToArray();
            if (!tables.SequenceEqual(tablePolicies))
            {
                problems.Add($"{function.LogicalId}: table variables [{string.Join(", ", tables)}], table policies [{string.Join(", ", tablePolicies)}]");
            }

            var triggerQueues = EventsOf(function).Where(e => e.Type == "SQS").Select(e => GetAttTarget(Child(e.Properties, "Queue")));
            var sends = PolicyTargets(t => t == "SQSSendMessagePolicy", "QueueName", GetAttTarget);
            var queues = Targets("_QUEUE_URL");
            problems.AddRange(sends.Except(queues).Select(q => $"{function.LogicalId}: may send to {q} but has no URL for it"));
            problems.AddRange(queues.Except(sends).Except(triggerQueues.OfType<string>())
                .Select(q => $"{function.LogicalId}: has the URL of {q} but may not send to it, nor is it its trigger"));

            var polls = PolicyTargets(t => t == "SQSPollerPolicy", "QueueName", GetAttTarget);
            var deadLetters = Targets("_DLQ_URL");
            if (!polls.SequenceEqual(deadLetters))
            {
                problems.Add($"{function.LogicalId}: DLQ variables [{string.Join(", ", deadLetters)}], poller policies [{string.Join(", ", polls)}]");
            }

            var actions = StatementActions(function).ToHashSet(StringComparer.Ordinal);
            if (variables.Any(v => v.Key == "WEBSOCKET_CALLBACK_URL") != actions.Contains("execute-api:ManageConnections"))
            {
                problems.Add($"{function.LogicalId}: WEBSOCKET_CALLBACK_URL and execute-api:ManageConnections go together");
            }

            if (variables.Any(v => v.Key == "SIGNING_KEY_ID") != actions.Contains("kms:GetPublicKey"))
            {
                problems.Add($"{function.LogicalId}: SIGNING_KEY_ID and kms:GetPublicKey go together");
            }
        }

        Assert.Empty(problems);
        var signers = AllFunctions(cloud.Template).Where(f => StatementActions(f).Contains("kms:Sign")).Select(f => f.LogicalId);
        Assert.Equal(["AuthApi"], signers);
    }

    [Fact]
    public void Every_queue_a_function_consumes_hides_a_received_message_for_at_least_six_times_the_function_timeout()
    {
        var defaultTimeout = int.Parse(Text(cloud.Template.GlobalFunctionProperty("Timeout")) ?? "3", CultureInfo.InvariantCulture);
        var queues = cloud.Template.ResourcesOfType("AWS::SQS::Queue").ToDictionary(q => q.LogicalId);
        var sources = AllFunctions(cloud.Template)
            .SelectMany(f => EventsOf(f).Where(e => e.Type == "SQS").Select(e => (Function: f, Event: e)))
            .ToList();
        Assert.NotEmpty(sources);

        var tooShort = sources.Select(s =>
            {
                var timeout = Text(s.Function.Property("Timeout")) is { } own ? int.Parse(own, CultureInfo.InvariantCulture) : defaultTimeout;
                var window = int.Parse(Text(Child(s.Event.Properties, "MaximumBatchingWindowInSeconds")) ?? "0", CultureInfo.InvariantCulture);
                var queue = queues[GetAttTarget(Child(s.Event.Properties, "Queue"))!];
                // SQS's default visibility timeout is 30 s. AWS: at least six times the function timeout, plus the batching window.
                var visibility = int.Parse(Text(queue.Property("VisibilityTimeout")) ?? "30", CultureInfo.InvariantCulture);
                return (s.Function.LogicalId, Queue: queue.LogicalId, visibility, Needed: 6 * timeout + window);
            })
            .Where(s => s.visibility < s.Needed)
            .Select(s => $"{s.Queue}: VisibilityTimeout {s.visibility} s < {s.Needed} s ({s.LogicalId})");
        Assert.Empty(tooShort);
    }

    /// <summary>
    /// A message that failed on an unavailable dependency is backed off (QueueRetry): its function must be allowed to
    /// change its visibility, on that queue only, and the first back-off is the queue's own visibility timeout.
    /// </summary>
    [Fact]
    public void Every_function_a_queue_triggers_may_back_off_that_queues_messages_starting_from_its_visibility_timeout()
    {
        var queues = cloud.Template.ResourcesOfType("AWS::SQS::Queue").ToDictionary(q => q.LogicalId);
        var problems = new List<string>();
        foreach (var function in AllFunctions(cloud.Template))
        {
            var triggers = EventsOf(function).Where(e => e.Type == "SQS").Select(e => GetAttTarget(Child(e.Properties, "Queue"))!)
                .Order(StringComparer.Ordinal).ToList();
            var allowed = Statements(function)
                .Where(s => s.Actions.Contains("sqs:ChangeMessageVisibility"))
                .Select(s => GetAttTarget(s.Resource) ?? Describe(s.Resource ?? new YamlScalarNode("")))
                .Order(StringComparer.Ordinal).ToList();
            if (!triggers.SequenceEqual(allowed))
            {
                problems.Add($"{function.LogicalId}: triggered by [{string.Join(", ", triggers)}], may change visibility on [{string.Join(", ", allowed)}]");
            }

            problems.AddRange(triggers
                .Where(q => int.Parse(Text(queues[q].Property("VisibilityTimeout")) ?? "30", CultureInfo.InvariantCulture)
                    != (int)new QueueRetryOptions().BaseDelay.TotalSeconds)
                .Select(q => $"{q}: VisibilityTimeout is not QueueRetryOptions.BaseDelay ({new QueueRetryOptions().BaseDelay.TotalSeconds} s)"));
        }

        Assert.Empty(problems);
    }

    [Fact]
    public void Every_function_has_an_errors_and_a_throttles_alarm_that_notifies_the_alarm_topic()
    {
        var alarms = cloud.Template.ResourcesOfType("AWS::CloudWatch::Alarm")
            .Where(a => Text(a.Property("Namespace")) == "AWS/Lambda")
            .Where(a => a.Property("AlarmActions") is YamlSequenceNode actions
                && actions.Children.Any(n => RefTarget(n) == "AlarmTopic"))
            .Select(a => (Metric: Text(a.Property("MetricName")),
                Function: (a.Property("Dimensions") as YamlSequenceNode)?.Children
                    .Where(d => Text(Child(d, "Name")) == "FunctionName").Select(d => RefTarget(Child(d, "Value"))).SingleOrDefault(),
                a.Condition))
            .ToList();

        var missing = AllFunctions(cloud.Template).SelectMany(f => LambdaAlarmMetrics
            .Where(metric => !alarms.Any(a => a.Metric == metric && a.Function == f.LogicalId && a.Condition == f.Condition))
            .Select(metric => $"{f.LogicalId} {metric}"));
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_metric_the_dashboard_and_the_alarms_read_in_namespace_OrderProcessing_is_one_the_app_emits_with_its_dimensions()
    {
        var references = AppMetricReferences(cloud.Template).ToList();
        var service = Text(cloud.Template.GlobalEnvironment.Single(v => v.Key == "POWERTOOLS_SERVICE_NAME").Value);
        var functions = AllFunctions(cloud.Template).Select(f => f.LogicalId).ToHashSet();
        Assert.Contains(references, r => r.Where.StartsWith("Dashboard", StringComparison.Ordinal));
        Assert.Contains(references, r => !r.Where.StartsWith("Dashboard", StringComparison.Ordinal));

        var wrong = references.Where(r => !EmittedMetrics.Contains(r.Name)
                || !r.Dimensions.Select(d => d.Name).SequenceEqual(["service", "function"])
                || r.Dimensions[0].Value != service
                || !functions.Contains(r.Dimensions[1].Value))
            .Select(r => $"{r.Where}: {r.Name} [{string.Join(", ", r.Dimensions.Select(d => $"{d.Name}={d.Value}"))}]");
        Assert.Empty(wrong);
    }

    [Fact]
    public void Every_metric_the_app_emits_is_on_the_dashboard_and_each_anomaly_metric_has_an_alarm()
    {
        var references = AppMetricReferences(cloud.Template).ToList();

        var notOnDashboard = EmittedMetrics.Where(m => !references.Any(r => r.Name == m && r.Where.StartsWith("Dashboard", StringComparison.Ordinal)));
        Assert.Empty(notOnDashboard);
        var notAlarmed = AlarmedAppMetrics.Where(m => !references.Any(r => r.Name == m && !r.Where.StartsWith("Dashboard", StringComparison.Ordinal)));
        Assert.Empty(notAlarmed);
    }

    /// <summary>The metric names of <see cref="Metrics"/> (its public string constants, but the namespace).</summary>
    private static IReadOnlyList<string> EmittedMetrics =>
        [.. typeof(Metrics).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name != nameof(Metrics.Namespace))
            .Select(f => (string)f.GetRawConstantValue()!)];

    /// <summary>Every use of a metric of namespace OrderProcessing: in alarms (single metric or metric math) and on dashboards.</summary>
    private static IEnumerable<MetricReference> AppMetricReferences(SamTemplate template)
    {
        foreach (var alarm in template.ResourcesOfType("AWS::CloudWatch::Alarm"))
        {
            var metrics = new List<YamlNode> { alarm.Properties };
            metrics.AddRange((alarm.Property("Metrics") as YamlSequenceNode)?.Children.Select(m => Child(Child(m, "MetricStat"), "Metric")).OfType<YamlNode>() ?? []);
            foreach (var metric in metrics.Where(m => Text(Child(m, "Namespace")) == Metrics.Namespace))
            {
                yield return new MetricReference(alarm.LogicalId, Text(Child(metric, "MetricName")) ?? "",
                    [.. ((Child(metric, "Dimensions") as YamlSequenceNode)?.Children ?? [])
                        .Select(d => (Text(Child(d, "Name")) ?? "", RefTarget(Child(d, "Value")) ?? Text(Child(d, "Value")) ?? ""))]);
            }
        }

        foreach (var dashboard in template.ResourcesOfType("AWS::CloudWatch::Dashboard"))
        {
            using var body = JsonDocument.Parse(Text(dashboard.Property("DashboardBody")) ?? "{}");
            foreach (var widget in body.RootElement.GetProperty("widgets").EnumerateArray())
            {
                if (!widget.GetProperty("properties").TryGetProperty("metrics", out var rows))
                {
                    continue;
                }

                foreach (var row in rows.EnumerateArray().Where(r => r[0].GetString() == Metrics.Namespace))
                {
                    var strings = row.EnumerateArray().TakeWhile(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList();
                    yield return new MetricReference($"{dashboard.LogicalId} '{widget.GetProperty("properties").GetProperty("title")}'", strings[1],
                        [.. strings.Skip(2).Chunk(2).Select(pair => (pair[0], pair.Length > 1 ? SubstitutedName(pair[1]) : ""))]);
                }
            }
        }
    }

    /// <summary>"${OrdersApi}" → OrdersApi; anything else as it is.</summary>
    private static string SubstitutedName(string value) =>
        value.StartsWith("${", StringComparison.Ordinal) && value.EndsWith('}') ? value[2..^1] : value;

    private sealed record MetricReference(string Where, string Name, IReadOnlyList<(string Name, string Value)> Dimensions);

    /// <summary>SAM policy templates of a function: template name and parameters.</summary>
    private static IEnumerable<(string Template, YamlNode Parameters)> Policies(TemplateResource function) =>
        (function.Property("Policies") as YamlSequenceNode)?.Children
            .OfType<YamlMappingNode>()
            .Where(p => p.Children.Count == 1 && Text(p.Children.Keys.First()) != "Statement")
            .Select(p => (Text(p.Children.Keys.First())!, p.Children.Values.First())) ?? [];

    /// <summary>The actions of a function's inline policy statements.</summary>
    private static IEnumerable<(HashSet<string> Actions, YamlNode? Resource)> Statements(TemplateResource function) =>
        (function.Property("Policies") as YamlSequenceNode)?.Children
            .Select(p => Child(p, "Statement"))
            .OfType<YamlSequenceNode>()
            .SelectMany(statements => statements.Children)
            .Select(statement => ((Child(statement, "Action") switch
            {
                YamlSequenceNode many => many.Children.Select(Text),
                var one => [Text(one)],
            }).OfType<string>().ToHashSet(StringComparer.Ordinal), Child(statement, "Resource"))) ?? [];

    private static IEnumerable<string> StatementActions(TemplateResource function) => Statements(function).SelectMany(s => s.Actions);

    private static string WebSocketFunction(SamTemplate template) =>
        FunctionFor(template, JsonDocument.Parse("""{"requestContext":{"routeKey":"$connect"}}""").RootElement)
            ?? throw new InvalidDataException("No function is integrated with the WebSocket API.");

    private static bool ServesRoute(RouteEndpoint endpoint, string method, string path) =>
        new AppEndpoint("/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/'),
            endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Serves(method, path);

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar => $"{StackContext.TagOf(scalar)} {scalar.Value}".Trim(),
        _ => string.Join(" ", node.AllNodes.OfType<YamlScalarNode>().Select(s => s.Value)),
    };

    /// <summary>A route template with parameter names and constraints dropped: /orders/{id:guid} → /orders/{}.</summary>
    internal static string Normalise(string path) => Parameter().Replace("/" + path.Trim('/'), "{}");

    private static IEnumerable<(string Function, string Method, string Path)> HttpApiRoutes(SamTemplate template) =>
        template.ResourcesOfType("AWS::Serverless::Function")
            .SelectMany(f => EventsOf(f)
                .Where(e => e.Type == "HttpApi")
                .Select(e => (f.LogicalId,
                    (Text(Child(e.Properties, "Method")) ?? "").ToUpperInvariant(),
                    Text(Child(e.Properties, "Path")) ?? "")));

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
