using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.Invoke;

/// <summary>How the invoke command reaches AWS when it is run in-process (tests share their emulators this way).</summary>
public sealed record InvokeHostOptions
{
    /// <summary>A running cloud to use as it is and leave running.</summary>
    public LocalCloud? Cloud { get; init; }

    /// <summary>Extra configuration for the app, under the function's own variables.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();
}

/// <summary>
/// <c>invoke FUNCTION --event FILE</c>: what <c>sam local invoke</c> does, without Docker. Starts what the function
/// needs as the local host does (emulators, the template's tables and queues, demo data), gives the app that
/// function's environment, delivers the event as the Lambda Web Adapter would, prints the function result to
/// standard output and the function's log lines and the host's diagnostics to standard error.
/// Exit codes: 0 the function returned a result; 1 the invocation failed; 2 the command cannot be run as asked or the
/// machine is not set up for it (unknown function, unreadable event, no trigger for that event, an emulator or endpoint
/// that does not answer, no credentials).
/// </summary>
public static partial class InvokeCommand
{
    public const string Name = "invoke";

    /// <summary>Variables that configure the Lambda runtime and its Web Adapter, not the app.</summary>
    private static readonly string[] LambdaOnlyPrefixes = ["AWS_LAMBDA_", "AWS_LWA_", "ASPNETCORE_"];

    public static async Task<int> RunAsync(IReadOnlyList<string> args, string repositoryRoot, TextWriter stdout, TextWriter stderr,
        InvokeHostOptions? hostOptions = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        // The app's log lines, the host's progress and this command's lines share it from several threads.
        stderr = TextWriter.Synchronized(stderr);
        string? function = null, eventPath = null, envVarsPath = null, stackName = null;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var emulatorTimeout = TimeSpan.FromSeconds(60);
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--event" or "-e" when value is not null:
                    eventPath = value;
                    i++;
                    break;
                case "--env-vars" or "-n" when value is not null:
                    envVarsPath = value;
                    i++;
                    break;
                case "--stack-name" when value is not null:
                    stackName = value;
                    i++;
                    break;
                case "--repository" when value is not null:
                    repositoryRoot = Path.GetFullPath(value);
                    i++;
                    break;
                case "--parameter" when value is not null && value.IndexOf('=', StringComparison.Ordinal) > 0:
                    parameters[value[..value.IndexOf('=', StringComparison.Ordinal)]] = value[(value.IndexOf('=', StringComparison.Ordinal) + 1)..];
                    i++;
                    break;
                case "--emulator-timeout" when value is not null && double.TryParse(value, CultureInfo.InvariantCulture, out var seconds):
                    emulatorTimeout = TimeSpan.FromSeconds(seconds);
                    i++;
                    break;
                case "-h" or "--help":
                    await stdout.WriteLineAsync(Usage);
                    return 0;
                case { } name when !name.StartsWith('-') && function is null:
                    function = name;
                    break;
                default:
                    await stderr.WriteLineAsync($"error: unexpected argument {args[i]}; see invoke --help.");
                    return 2;
            }
        }

        var templatePath = Path.Combine(repositoryRoot, "template.yaml");
        if (!File.Exists(templatePath))
        {
            await stderr.WriteLineAsync($"error: template.yaml was not found at {templatePath}; run from the repository root or pass --repository.");
            return 2;
        }

        var template = SamTemplate.Load(templatePath);
        var functions = template.Functions.Select(f => f.LogicalId).ToList();
        if (function is null || eventPath is null)
        {
            await stderr.WriteLineAsync($"error: name a function and an event file: invoke FUNCTION --event FILE (functions: {string.Join(", ", functions)}).");
            return 2;
        }

        if (template.Functions.FirstOrDefault(f => f.LogicalId == function) is not { } resource)
        {
            await stderr.WriteLineAsync($"error: template.yaml has no function {function}; its functions are {string.Join(", ", functions)}.");
            return 2;
        }

        stackName ??= DefaultStackName(repositoryRoot);
        Invocation invocation;
        try
        {
            invocation = Prepare(template, resource, eventPath, envVarsPath, repositoryRoot, stackName, parameters, stderr);
        }
        catch (Exception e) when (e is InvokeUsageException or SetupException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return 2;
        }

        // The caller's settings, then the function's variables from --env-vars ("__" separates sections, as in
        // environment variables), then what Lambda itself sets.
        var settings = new Dictionary<string, string?>(hostOptions?.Settings ?? new Dictionary<string, string?>());
        foreach (var (name, value) in invocation.AppVariables)
        {
            settings[name.Replace("__", ":", StringComparison.Ordinal)] = value;
        }

        settings["AWS_LAMBDA_FUNCTION_NAME"] = invocation.FunctionName(stackName);

        LocalHost host;
        try
        {
            await stderr.WriteLineAsync($"Starting what {function} needs (stack {stackName})...");
            host = await LocalHost.StartAsync(new LocalHostOptions
            {
                RepositoryRoot = repositoryRoot,
                Urls = ["http://127.0.0.1:0"],
                WebSocketUrl = "http://127.0.0.1:0",
                StackName = stackName,
                Cloud = hostOptions?.Cloud,
                EmulatorTimeout = emulatorTimeout,
                Parameters = parameters,
                StartEventSources = false,
                FunctionLogicalId = function,
                LogOutput = stderr,
                Progress = line => stderr.WriteLine($"  {line}"),
                Settings = settings,
            }, cancellationToken);
        }
        catch (SetupException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
        catch (InvalidDataException e)
        {
            await stderr.WriteLineAsync($"error: template.yaml: {e.Message}");
            return 2;
        }

        await using (host)
        {
            var init = clock.Elapsed;
            return await InvokeAsync(host, invocation, init, stdout, stderr, cancellationToken);
        }
    }

    /// <summary>Everything that can be checked before anything starts: the event, its trigger, the variables.</summary>
    private static Invocation Prepare(SamTemplate template, TemplateResource function, string eventPath, string? envVarsPath, string repositoryRoot,
        string stackName, Dictionary<string, string> parameters, TextWriter stderr)
    {
        var parameterValues = LocalHost.ParameterValues(template, parameters);
        if (function.Condition is { } condition
            && !TemplateConditions.IsTrue(template, condition, new StackContext(stackName, LocalCloud.Region, "000000000000", parameterValues)))
        {
            throw new InvokeUsageException($"{function.LogicalId} is not created with these parameters: its Condition {condition} is false.");
        }

        var eventFile = InRepository(eventPath, repositoryRoot);
        if (!File.Exists(eventFile))
        {
            throw new InvokeUsageException($"the event file {eventPath} does not exist.");
        }

        var json = File.ReadAllText(eventFile);
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvokeUsageException($"{eventPath} is not valid JSON: {e.Message}");
        }

        LambdaEvent lambdaEvent;
        try
        {
            lambdaEvent = LambdaEvent.Read(root);
        }
        catch (InvokeUsageException e)
        {
            throw new InvokeUsageException($"{eventPath}: {e.Message}");
        }

        var triggers = FunctionTriggers.Of(template, function);
        var names = new StackNames(template, stackName, parameterValues);
        var source = TriggerFor(lambdaEvent, triggers, names)
            ?? throw new InvokeUsageException($"{eventPath} is {lambdaEvent.Describe()}, but {function.LogicalId} has no trigger for it; "
                + $"it is triggered by {triggers.Describe(names)}.");

        // The function's variables as template.yaml declares them; --env-vars may override only those, as with sam.
        var declared = template.FunctionEnvironment(function.LogicalId)
            .GroupBy(v => v.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
        var overrides = envVarsPath is null ? [] : EnvVarsFile.Read(InRepository(envVarsPath, repositoryRoot), function.LogicalId);
        foreach (var ignored in overrides.Keys.Where(k => !declared.ContainsKey(k)).ToList())
        {
            stderr.WriteLine($"warning: --env-vars sets {ignored}, which template.yaml does not declare for {function.LogicalId}; ignored, as sam local invoke does.");
            overrides.Remove(ignored);
        }

        string? Adapter(string name) =>
            overrides.TryGetValue(name, out var value) ? value : (declared.GetValueOrDefault(name) as YamlScalarNode)?.Value;

        return new Invocation(
            function.LogicalId,
            eventPath,
            json,
            lambdaEvent,
            source,
            Adapter("AWS_LWA_PASS_THROUGH_PATH") ?? "/events",
            LambdaWebAdapter.ParseStatusCodes(Adapter("AWS_LWA_ERROR_STATUS_CODES")),
            TimeSpan.FromSeconds(FunctionSetting(template, function, "Timeout") ?? 3),
            (int)(FunctionSetting(template, function, "MemorySize") ?? 128),
            overrides.Where(v => !LambdaOnlyPrefixes.Any(p => v.Key.StartsWith(p, StringComparison.Ordinal)))
                .ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal));
    }

    /// <summary>The logical id of the template resource behind the event's source ("" for HTTP and WebSocket), or null when the function has no trigger for it.</summary>
    private static string? TriggerFor(LambdaEvent e, FunctionTriggers triggers, StackNames names) => e.Kind switch
    {
        LambdaEventKind.HttpApi => triggers.HasRoute(e.Source) ? "" : null,
        LambdaEventKind.WebSocket => triggers.WebSocketRoutes.Contains(e.Source) ? "" : null,
        LambdaEventKind.Sqs => names.FindResource("AWS::SQS::Queue", e.Source, names.Queue) is { } queue && triggers.Queues.Contains(queue) ? queue : null,
        _ => names.FindResource("AWS::DynamoDB::Table", e.Source, names.Table) is { } table && triggers.StreamTables.Contains(table) ? table : null,
    };

    private static async Task<int> InvokeAsync(LocalHost host, Invocation invocation, TimeSpan init, TextWriter stdout, TextWriter stderr,
        CancellationToken cancellationToken)
    {
        var requestId = Guid.NewGuid().ToString();
        var functionName = invocation.FunctionName(host.Stack.StackName);
        var lambdaContext = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["request_id"] = requestId,
            ["deadline"] = DateTimeOffset.UtcNow.Add(invocation.Timeout).ToUnixTimeMilliseconds(),
            ["invoked_function_arn"] = $"arn:aws:lambda:{LocalCloud.Region}:000000000000:function:{functionName}",
            ["env_config"] = new Dictionary<string, object?>
            {
                ["function_name"] = functionName,
                ["memory"] = invocation.MemorySize,
                ["version"] = "$LATEST",
                ["log_stream"] = "",
                ["log_group"] = $"/aws/lambda/{functionName}",
            },
        });

        using var request = invocation.Event.Kind == LambdaEventKind.HttpApi
            ? LambdaWebAdapter.ToHttpRequest(JsonDocument.Parse(invocation.Json).RootElement, lambdaContext)
            : LambdaWebAdapter.ToPassThroughRequest(PointAtStack(invocation, host, stderr), invocation.PassThroughPath, lambdaContext);
        await stderr.WriteLineAsync($"START RequestId: {requestId} Version: $LATEST ({invocation.Function}, {invocation.EventPath}: {invocation.Event.Describe()})");

        using var http = new HttpClient { BaseAddress = host.Urls[0], Timeout = Timeout.InfiniteTimeSpan };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(invocation.Timeout);
        var clock = Stopwatch.StartNew();
        JsonNode? result;
        int exitCode;
        try
        {
            using var response = await http.SendAsync(request, deadline.Token);
            var status = (int)response.StatusCode;
            if (invocation.ErrorStatusCodes.Contains(status))
            {
                // The adapter fails the invocation; the Rust runtime reports the boxed error like this.
                result = Error("&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
                    $"Request failed with configured error status code: {status}");
                await stderr.WriteLineAsync($"{await response.Content.ReadAsStringAsync(deadline.Token)}");
                exitCode = 1;
            }
            else
            {
                result = invocation.Event.Kind == LambdaEventKind.HttpApi
                    ? await LambdaWebAdapter.ToHttpApiResultAsync(response, deadline.Token)
                    : LambdaWebAdapter.ToPassThroughResult(await response.Content.ReadAsStringAsync(deadline.Token));
                exitCode = 0;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            result = Error("Sandbox.Timedout",
                $"RequestId: {requestId} Error: Task timed out after {invocation.Timeout.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} seconds");
            exitCode = 1;
        }

        var duration = clock.Elapsed;
        await stderr.WriteLineAsync($"END RequestId: {requestId}");
        await stderr.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"REPORT RequestId: {requestId}\tDuration: {duration.TotalMilliseconds:0.00} ms\tInit Duration: {init.TotalMilliseconds:0.00} ms"));
        if (exitCode != 0)
        {
            await stderr.WriteLineAsync($"error: {invocation.Function} failed: {result?["errorMessage"]}");
        }

        await stdout.WriteLineAsync(result?.ToJsonString(OutputJson) ?? "null");
        await stdout.FlushAsync(cancellationToken);
        return exitCode;
    }

    /// <summary>
    /// A batch recorded on another stack (the samples name the deployed stack) names that stack's queue or table;
    /// the records are pointed at this stack's, or the app would not recognise the source.
    /// </summary>
    private static string PointAtStack(Invocation invocation, LocalHost host, TextWriter stderr)
    {
        var (kind, source, id) = (invocation.Event.Kind, invocation.Event.Source, invocation.SourceLogicalId);
        var local = kind switch
        {
            LambdaEventKind.Sqs => host.Stack.Queues[id].Name,
            LambdaEventKind.DynamoDbStream => host.Stack.Tables[id],
            _ => source,
        };
        if (local == source)
        {
            return invocation.Json;
        }

        var root = JsonNode.Parse(invocation.Json)!;
        foreach (var record in root["Records"]!.AsArray())
        {
            var arn = record!["eventSourceARN"]!.GetValue<string>();
            record["eventSourceARN"] = kind == LambdaEventKind.Sqs
                ? host.Stack.Queues[id].Arn
                : arn.Replace($":table/{source}/", $":table/{local}/", StringComparison.Ordinal);
        }

        stderr.WriteLine($"  The event names {source}; delivered as this stack's {local}.");
        return root.ToJsonString();
    }

    /// <summary>A relative path as given when it exists from here, else from the repository root (events/... works from any folder).</summary>
    private static string InRepository(string path, string repositoryRoot) =>
        !File.Exists(path) && !Path.IsPathRooted(path) && File.Exists(Path.Combine(repositoryRoot, path))
            ? Path.Combine(repositoryRoot, path)
            : path;

    /// <summary>samconfig.toml's stack_name: the samples in events/ were recorded on that stack.</summary>
    private static string DefaultStackName(string repositoryRoot)
    {
        var config = Path.Combine(repositoryRoot, "samconfig.toml");
        return File.Exists(config) && StackNamePattern().Match(File.ReadAllText(config)) is { Success: true } match
            ? match.Groups[1].Value
            : "orderprocessing";
    }

    private static double? FunctionSetting(SamTemplate template, TemplateResource function, string name) =>
        (function.Property(name) ?? template.GlobalFunctionProperty(name)) is YamlScalarNode { Value: { } text }
        && double.TryParse(text, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    /// <summary>The result as Lambda prints it: compact, with quotes and non-ASCII text left readable.</summary>
    private static readonly JsonSerializerOptions OutputJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static JsonObject Error(string type, string message) => new() { ["errorType"] = type, ["errorMessage"] = message };

    [GeneratedRegex("""(?m)^\s*stack_name\s*=\s*"([^"]+)"\s*$""")]
    private static partial Regex StackNamePattern();

    private sealed record Invocation(
        string Function,
        string EventPath,
        string Json,
        LambdaEvent Event,
        string SourceLogicalId,
        string PassThroughPath,
        IReadOnlySet<int> ErrorStatusCodes,
        TimeSpan Timeout,
        int MemorySize,
        IReadOnlyDictionary<string, string> AppVariables)
    {
        public string FunctionName(string stackName) => $"{stackName}-{Function}";
    }

    private const string Usage = """
        Usage: dotnet run --project src/OrderProcessing.Local -- invoke FUNCTION --event FILE [options]
          FUNCTION                a function's logical id in template.yaml (e.g. DeliveryProcessor)
          --event, -e FILE        the Lambda event (e.g. events/sqs-order-events.json)
          --env-vars, -n FILE     environment overrides in sam's format: {"FUNCTION": {"VAR": "value"}, "Parameters": {...}}
          --stack-name NAME       prefix of every table and queue (default: samconfig.toml's stack_name)
          --parameter NAME=VALUE  a template parameter other than its default
          --emulator-timeout SECS how long an emulator may take to answer (default 60)
        Prints the function result on stdout, its log lines and the host's diagnostics on stderr.
        AWS_ENDPOINT_URL (or both AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS), when set, is used and no emulator is started.
        """;
}
