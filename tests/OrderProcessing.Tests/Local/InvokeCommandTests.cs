using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrderProcessing.Local.Invoke;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Local;

/// <summary>
/// <c>invoke FUNCTION --event FILE</c>, the local <c>sam local invoke</c>: every file in events/ through the function
/// events/README.md names for it, and every way the command refuses to run. The command runs in-process on the run's
/// shared emulators, each invocation under a stack of its own; one test runs it as the separate process a user starts.
/// </summary>
public sealed partial class InvokeCommandTests(CloudFixture cloud)
{
    private static string EventsDirectory => Path.Combine(Repository.Root, "events");

    public static TheoryData<string> EventFiles => new(SampleFiles());

    private static IEnumerable<string> SampleFiles() =>
        Directory.GetFiles(EventsDirectory, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal);

    /// <summary>events/README.md's table: file → (function, result).</summary>
    private static Dictionary<string, (string Function, string Result)> Catalogue() =>
        File.ReadLines(Path.Combine(EventsDirectory, "README.md"))
            .Select(l => CatalogueRow().Match(l))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups["file"].Value, m => (m.Groups["function"].Value, m.Groups["result"].Value.Trim()));

    [Fact]
    public void Every_events_file_has_its_function_and_result_in_events_README()
    {
        var catalogue = Catalogue();
        var functions = cloud.Template.Functions.Select(f => f.LogicalId).ToHashSet();

        Assert.All(SampleFiles(), file => Assert.True(catalogue.ContainsKey(file),
            $"events/{file} has no row in events/README.md; add `| `{file}` | FunctionLogicalId | statusCode N or batchItemFailures [] |`."));
        Assert.All(catalogue, row => Assert.True(File.Exists(Path.Combine(EventsDirectory, row.Key)), $"events/README.md lists {row.Key}, which does not exist."));
        Assert.All(catalogue, row => Assert.Contains(row.Value.Function, functions));
        Assert.All(catalogue, row => Assert.Matches(@"^`(statusCode \d{3}|batchItemFailures \[\])`", row.Value.Result));
    }

    [Theory]
    [MemberData(nameof(EventFiles))]
    public async Task Every_sample_event_runs_through_its_function_and_returns_the_result_events_README_names(string file)
    {
        Assert.True(Catalogue().TryGetValue(file, out var row), $"events/{file} has no row in events/README.md.");
        var stack = await cloud.ProvisionAsync("invoke");
        await PutSampleOrderAsync(stack);
        if (file == "sqs-carrier-events.json")
        {
            // A carrier step moves a shipment that exists: DeliveryProcessor makes it from the order-events sample.
            var shipment = await InvokeAsync("DeliveryProcessor", "--event", "events/sqs-order-events.json", "--stack-name", stack.StackName);
            Assert.True(shipment.ExitCode == 0, shipment.Stderr);
        }

        var run = await InvokeAsync(row.Function, "--event", Path.Combine("events", file), "--stack-name", stack.StackName);

        Assert.True(run.ExitCode == 0, $"exit code {run.ExitCode}; stderr:\n{run.Stderr}");
        using var result = JsonDocument.Parse(run.Stdout);
        var expected = Regex.Match(row.Result, @"^`(statusCode (?<status>\d{3})|batchItemFailures \[\])`");
        if (expected.Groups["status"].Success)
        {
            Assert.Equal(int.Parse(expected.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture),
                result.RootElement.GetProperty("statusCode").GetInt32());
        }
        else
        {
            Assert.Empty(result.RootElement.GetProperty("batchItemFailures").EnumerateArray());
        }

        if (result.RootElement.TryGetProperty("isBase64Encoded", out _))
        {
            // An HTTP API proxy result: the response's headers and body, as API Gateway gets them.
            Assert.Matches(@"^application/(problem\+)?json", result.RootElement.GetProperty("headers").GetProperty("content-type").GetString());
            Assert.False(result.RootElement.GetProperty("isBase64Encoded").GetBoolean());
            using var body = JsonDocument.Parse(result.RootElement.GetProperty("body").GetString()!);
            Assert.Equal(JsonValueKind.Object, body.RootElement.ValueKind);
        }

        // The function's own log lines, on stderr, name it as Lambda would.
        Assert.Contains($"\"function_name\":\"{stack.StackName}-{row.Function}\"", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("REPORT RequestId: ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_recorded_on_another_stack_is_delivered_as_this_stacks_queue()
    {
        var stack = await cloud.ProvisionAsync("invoke-rename");

        var run = await InvokeAsync("DeliveryProcessor", "--event", "events/sqs-order-events.json", "--stack-name", stack.StackName);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"The event names orderprocessing-order-events.fifo; delivered as this stack's {stack.StackName}-order-events.fifo.",
            run.Stderr, StringComparison.Ordinal);
        using var result = JsonDocument.Parse(run.Stdout);
        Assert.Empty(result.RootElement.GetProperty("batchItemFailures").EnumerateArray());
    }

    [Fact]
    public async Task An_unknown_function_is_refused_with_the_list_of_functions()
    {
        var run = await InvokeAsync("OrdersAPI", "--event", "events/http-api-health.json");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: template.yaml has no function OrdersAPI; its functions are ", line, StringComparison.Ordinal);
        Assert.All(cloud.Template.Functions, f => Assert.Contains(f.LogicalId, line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_event_file_is_refused()
    {
        var run = await InvokeAsync("ProductsApi", "--event", "events/no-such-event.json");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal("error: the event file events/no-such-event.json does not exist.", run.Stderr.Trim());
    }

    [Theory]
    [InlineData("{\"version\": \"2.0\",", "is not valid JSON")]
    [InlineData("[1, 2]", "the event is not a JSON object")]
    [InlineData("{\"Records\": []}", "its Records array is empty")]
    [InlineData("{\"detail-type\": \"Scheduled Event\", \"source\": \"aws.events\"}", "it is not an event a function of template.yaml receives")]
    [InlineData("{\"httpMethod\": \"GET\", \"path\": \"/health\", \"requestContext\": {}}", "payload format 1.0")]
    public async Task A_malformed_event_file_or_one_of_no_known_kind_is_refused(string content, string message)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("op-event").FullName, "event.json");
        await File.WriteAllTextAsync(file, content, TestContext.Current.CancellationToken);

        var run = await InvokeAsync("ProductsApi", "--event", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.StartsWith($"error: {file}", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AuthApi", "http-api-health.json", "an API Gateway HTTP API v2 request (GET /health)", "HTTP API routes POST /oauth/token")]
    [InlineData("DeliveryStatusApplier", "sqs-order-events.json", "an SQS batch from queue orderprocessing-order-events.fifo", "SQS queue orderprocessing-delivery-status-queue.fifo")]
    [InlineData("DeliveryProcessor", "dynamodb-orders-insert.json", "a DynamoDB stream batch from table orderprocessing-orders", "SQS queue orderprocessing-order-events.fifo")]
    [InlineData("OrdersApi", "websocket-ping.json", "an API Gateway WebSocket event (route ping)", "HTTP API routes POST /orders")]
    [InlineData("WebSocket", "sqs-delivery-status.json", "an SQS batch from queue orderprocessing-delivery-status-queue.fifo", "WebSocket routes $connect")]
    public async Task An_event_the_function_has_no_trigger_for_is_refused_naming_its_triggers(string function, string file, string what, string triggers)
    {
        var run = await InvokeAsync(function, "--event", $"events/{file}", "--stack-name", "orderprocessing");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: events/{file} is {what}, but {function} has no trigger for it; it is triggered by ", line, StringComparison.Ordinal);
        Assert.Contains(triggers, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_function_the_parameters_leave_out_is_refused()
    {
        var run = await InvokeAsync("CarrierSimulator", "--event", "events/sqs-order-events.json", "--parameter", "EnableCarrierSimulator=false");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: CarrierSimulator is not created with these parameters: its Condition CarrierSimulatorEnabled is false.", run.Stderr.Trim());
    }

    [Fact]
    public async Task Env_vars_override_the_functions_variables_the_function_entry_over_Parameters_as_with_sam()
    {
        var stack = await cloud.ProvisionAsync("invoke-env");
        var envVars = await EnvVarsFileAsync("""
            {
              "Parameters": { "POWERTOOLS_SERVICE_NAME": "everyone", "UNDECLARED_SETTING": "x" },
              "ProductsApi": { "POWERTOOLS_SERVICE_NAME": "catalogue" },
              "AuthApi": { "POWERTOOLS_SERVICE_NAME": "auth" }
            }
            """);

        var run = await InvokeAsync("ProductsApi", "--event", "events/http-api-health.json", "--env-vars", envVars, "--stack-name", stack.StackName);

        Assert.Equal(0, run.ExitCode);
        var logLines = run.Stderr.Split('\n').Where(l => l.StartsWith("{\"level\"", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(logLines);
        Assert.All(logLines, l => Assert.Contains("\"service\":\"catalogue\"", l, StringComparison.Ordinal));
        Assert.Contains("warning: --env-vars sets UNDECLARED_SETTING, which template.yaml does not declare for ProductsApi; ignored", run.Stderr,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_status_listed_in_AWS_LWA_ERROR_STATUS_CODES_fails_the_invocation_with_Lambdas_error_JSON()
    {
        var stack = await cloud.ProvisionAsync("invoke-error");
        // /events answers 200 here; listing 200 makes it an error status, as a 5xx is with the template's 500-599.
        var envVars = await EnvVarsFileAsync("""{ "WebSocket": { "AWS_LWA_ERROR_STATUS_CODES": "200-299" } }""");

        var run = await InvokeAsync("WebSocket", "--event", "events/websocket-ping.json", "--env-vars", envVars, "--stack-name", stack.StackName);

        Assert.Equal(1, run.ExitCode);
        using var error = JsonDocument.Parse(run.Stdout);
        Assert.Equal("Request failed with configured error status code: 200", error.RootElement.GetProperty("errorMessage").GetString());
        Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("errorType").GetString()));
        Assert.Contains("error: WebSocket failed: Request failed with configured error status code: 200", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_function_gets_the_global_variables_and_its_own_only()
    {
        var admin = cloud.Template.FunctionEnvironment("DeadLetterAdminApi").Select(v => v.Key).ToList();
        var products = cloud.Template.FunctionEnvironment("ProductsApi").Select(v => v.Key).ToList();

        Assert.Contains("ORDER_EVENTS_DLQ_URL", admin);
        Assert.Contains("PRODUCTS_TABLE", products);
        Assert.DoesNotContain("ORDERS_TABLE", products);
        Assert.DoesNotContain("ORDER_EVENTS_DLQ_URL", products);
        Assert.DoesNotContain("CARRIER_WEBHOOK_SECRET", products);
    }

    [Theory]
    [InlineData("500-599", new[] { 500, 599 }, new[] { 499, 600 })]
    [InlineData("500,502-504,422", new[] { 500, 503, 422 }, new[] { 501, 505 })]
    [InlineData("500-invalid", new int[0], new[] { 500 })]
    [InlineData("", new int[0], new[] { 500 })]
    public void Error_status_codes_are_read_as_the_adapter_reads_them(string text, int[] listed, int[] notListed)
    {
        var codes = LambdaWebAdapter.ParseStatusCodes(text);

        Assert.All(listed, code => Assert.Contains(code, codes));
        Assert.All(notListed, code => Assert.DoesNotContain(code, codes));
    }

    [Fact]
    public async Task Run_as_its_own_process_it_prints_only_the_result_on_stdout_and_stops_the_emulators_it_started()
    {
        using var process = new Process
        {
            StartInfo = new ProcessStartInfo(LocalHostProcess.DotnetPath)
            {
                WorkingDirectory = Repository.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                ArgumentList =
                {
                    Path.Combine(AppContext.BaseDirectory, "OrderProcessing.Local.dll"), "invoke", "ProductsApi", "--event", "events/http-api-health.json",
                    "--stack-name", "invoke-process",
                },
            },
        };
        foreach (var name in new[] { "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS" })
        {
            process.StartInfo.Environment.Remove(name);
        }

        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var errors = await stderr;
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}; stderr:\n{errors}");
        var line = Assert.Single((await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var result = JsonDocument.Parse(line);
        Assert.Equal(200, result.RootElement.GetProperty("statusCode").GetInt32());
        Assert.Contains("\"status\":\"Healthy\"", result.RootElement.GetProperty("body").GetString(), StringComparison.Ordinal);
        var emulators = PidPattern().Matches(errors).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(2, emulators.Count);
        Assert.All(emulators, pid => Assert.False(LocalHostProcess.IsRunning(pid), $"emulator {pid} is left running"));
        Assert.Contains("\"function_name\":\"invoke-process-ProductsApi\"", errors, StringComparison.Ordinal);
    }

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private async Task<Run> InvokeAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exitCode = await InvokeCommand.RunAsync([args[0], .. args[1..]], Repository.Root, stdout, stderr, new InvokeHostOptions
        {
            Cloud = cloud.Cloud,
            Settings = new Dictionary<string, string?>
            {
                ["AUTH_SECRET_HASH_ITERATIONS"] = "1000",
                ["AUTH_LOCAL_KEY_DIR"] = Directory.CreateTempSubdirectory("op-keys").FullName,
            },
        }, TestContext.Current.CancellationToken);
        return new Run(exitCode, stdout.ToString(), stderr.ToString());
    }

    private static async Task<string> EnvVarsFileAsync(string json)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("op-env").FullName, "env.json");
        await File.WriteAllTextAsync(file, json, TestContext.Current.CancellationToken);
        return file;
    }

    /// <summary>The samples follow one order: it exists as the stream sample's new image shows it.</summary>
    private async Task PutSampleOrderAsync(ProvisionedStack stack)
    {
        using var sample = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(EventsDirectory, "dynamodb-orders-insert.json"),
            TestContext.Current.CancellationToken));
        var image = sample.RootElement.GetProperty("Records")[0].GetProperty("dynamodb").GetProperty("NewImage");
        using var dynamo = cloud.CreateDynamoDbClient();
        await dynamo.PutItemAsync(stack.Tables["OrdersTable"],
            image.EnumerateObject().ToDictionary(p => p.Name, p => Deployment.SampleEventsTests.ToAttributeValue(p.Value)),
            TestContext.Current.CancellationToken);
    }

    [GeneratedRegex(@"^\|\s*`(?<file>[^`]+\.json)`\s*\|\s*(?<function>\w+)\s*\|(?<result>.*)\|\s*$")]
    private static partial Regex CatalogueRow();

    [GeneratedRegex(@"\(pid (\d+)\)")]
    private static partial Regex PidPattern();
}
