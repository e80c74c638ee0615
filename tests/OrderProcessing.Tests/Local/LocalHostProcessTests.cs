using System.Net;
using System.Net.Sockets;

namespace OrderProcessing.Tests.Local;

/// <summary>The local host run as a process, as the README tells a user to run it.</summary>
public sealed class LocalHostProcessTests(CloudFixture cloud)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Stops_every_emulator_it_started_on_SIGTERM_or_Ctrl_C(string signal)
    {
        if (signal == "INT" && LocalHostProcess.IsSignalIgnoredHere(2))
        {
            // A job started in the background of a non-interactive shell inherits SIGINT as ignored, and so
            // would the local host started from here: there is no Ctrl+C to test in such a run.
            Assert.Skip("SIGINT is ignored by this test process (started in the background).");
        }

        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0", "--stack-name", "signal"]);
        await host.WaitUntilReadyAsync(StartTimeout);
        var emulators = host.EmulatorPids;
        Assert.Equal(2, emulators.Count);
        Assert.All(emulators, pid => Assert.True(LocalHostProcess.IsRunning(pid), $"emulator {pid} runs while the host is up"));

        host.Signal(signal);
        var exitCode = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exitCode);
        Assert.All(emulators, pid => Assert.False(LocalHostProcess.IsRunning(pid), $"emulator {pid} is left running"));
        Assert.Contains(host.Stdout, l => l.StartsWith("Stopped.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Prints_its_start_to_ready_time_and_where_everything_listens()
    {
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0", "--stack-name", "banner"]);
        await host.WaitUntilReadyAsync(StartTimeout);

        Assert.Contains(host.Stdout, l => l.Contains("HTTP API", StringComparison.Ordinal) && l.Contains("http://127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(host.Stdout, l => l.Contains("DynamoDB Local", StringComparison.Ordinal) && l.Contains("http://localhost:", StringComparison.Ordinal));
        Assert.Contains(host.Stdout, l => l.Contains("fauxqs (SQS)", StringComparison.Ordinal));
        Assert.Contains(host.Stdout, l => l.Contains("WebSocket API", StringComparison.Ordinal) && l.Contains("ws://127.0.0.1:", StringComparison.Ordinal));
        Assert.Matches(@"^Ready in \d+\.\d s\.", host.Stdout.Single(l => l.StartsWith("Ready in", StringComparison.Ordinal)));
        host.Signal();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_token_fetched_from_127_0_0_1_opens_the_WebSocket_that_reaches_the_app_at_localhost()
    {
        var port = OrderProcessing.Local.Cloud.FreePort.Next();
        await using var host = LocalHostProcess.Start(["--urls", $"http://localhost:{port}", "--stack-name", "issuer"]);
        await host.WaitUntilReadyAsync(StartTimeout);
        var webSocketUrl = host.Stdout.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"WebSocket API\s+(ws://\S+)"))
            .First(m => m.Success).Groups[1].Value;

        using var http = new HttpClient();
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/oauth/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
        };
        tokenRequest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("demo:demo-secret"u8.ToArray()));
        using var tokenResponse = await http.SendAsync(tokenRequest);
        using var tokenBody = System.Text.Json.JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync());
        var token = tokenBody.RootElement.GetProperty("access_token").GetString()!;
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"{webSocketUrl}?token={Uri.EscapeDataString(token)}"), CancellationToken.None);

        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
        host.Signal();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Without_java_on_PATH_it_says_so_in_one_line_and_exits_non_zero()
    {
        var emptyPath = Directory.CreateTempSubdirectory("no-java").FullName;
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string?> { ["PATH"] = emptyPath });

        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(host.Stderr);
        Assert.Contains("Java 17+", error, StringComparison.Ordinal);
        Assert.Contains("not on PATH", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_node_on_PATH_it_says_so_in_one_line_and_exits_non_zero()
    {
        var onlyJava = Directory.CreateTempSubdirectory("no-node").FullName;
        File.CreateSymbolicLink(Path.Combine(onlyJava, "java"), "/usr/bin/java");
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string?> { ["PATH"] = onlyJava });

        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(host.Stderr);
        Assert.Contains("Node.js 20+", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_emulator_packages_it_names_the_install_command()
    {
        var repository = Directory.CreateTempSubdirectory("no-modules").FullName;
        File.Copy(Repository.TemplatePath, Path.Combine(repository, "template.yaml"));
        Directory.CreateDirectory(Path.Combine(repository, "localstack"));
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0", "--repository", repository]);

        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(host.Stderr);
        Assert.Contains("npm ci --prefix localstack", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_port_is_named_and_the_emulators_are_stopped()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        await using var host = LocalHostProcess.Start(["--urls", $"http://127.0.0.1:{port}", "--stack-name", "port"]);

        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(host.Stderr);
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains("already in use", error, StringComparison.Ordinal);
        Assert.Equal(2, host.EmulatorPids.Count);
        Assert.All(host.EmulatorPids, pid => Assert.False(LocalHostProcess.IsRunning(pid), $"emulator {pid} is left running"));
    }

    [Fact]
    public async Task An_emulator_that_does_not_answer_in_time_is_named_and_stopped()
    {
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0", "--emulator-timeout", "0.05"]);

        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(host.Stderr);
        Assert.Contains("DynamoDB Local did not answer", error, StringComparison.Ordinal);
        Assert.Contains("--emulator-timeout", error, StringComparison.Ordinal);
        var pid = Assert.Single(host.EmulatorPids);
        Assert.False(LocalHostProcess.IsRunning(pid), $"emulator {pid} is left running");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_AWS_endpoint_where_nothing_listens_is_named_in_one_line_with_exit_code_2(bool withCredentials)
    {
        var port = OrderProcessing.Local.Cloud.FreePort.Next();
        var environment = LocalHostProcess.WithoutAwsCredentials();
        environment["AWS_ENDPOINT_URL"] = $"http://localhost:{port}";
        if (withCredentials)
        {
            environment["AWS_ACCESS_KEY_ID"] = "test";
            environment["AWS_SECRET_ACCESS_KEY"] = "test";
        }

        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0"], environment);

        Assert.Equal(2, await host.WaitForExitAsync(StartTimeout));
        var error = Assert.Single(host.Stderr);
        Assert.Equal($"error: nothing answers at http://localhost:{port}/ (AWS_ENDPOINT_URL): connection refused; start the emulator (e.g. LocalStack) there, "
            + "or unset AWS_ENDPOINT_URL and the local host starts its own emulators.", error);
        Assert.Empty(host.EmulatorPids);
    }

    [Fact]
    public async Task One_service_endpoint_without_the_other_is_refused_in_one_line()
    {
        var environment = LocalHostProcess.WithoutAwsCredentials();
        environment["AWS_ENDPOINT_URL_DYNAMODB"] = cloud.Cloud.DynamoDbEndpoint.ToString();
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0"], environment);

        Assert.Equal(2, await host.WaitForExitAsync(StartTimeout));
        var error = Assert.Single(host.Stderr);
        Assert.StartsWith("error: AWS_ENDPOINT_URL_DYNAMODB is set but AWS_ENDPOINT_URL_SQS is not; set both", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Service_endpoints_on_this_machine_are_used_without_credentials_and_no_emulator_is_started()
    {
        var environment = LocalHostProcess.WithoutAwsCredentials();
        environment["AWS_ENDPOINT_URL_DYNAMODB"] = cloud.Cloud.DynamoDbEndpoint.ToString();
        environment["AWS_ENDPOINT_URL_SQS"] = cloud.Cloud.SqsEndpoint.ToString();
        var stackName = $"endpoints-{Guid.NewGuid():N}"[..20];
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0", "--stack-name", stackName], environment);
        await host.WaitUntilReadyAsync(StartTimeout);

        Assert.Empty(host.EmulatorPids);
        Assert.Contains(host.Stdout, l => l.Contains($"DynamoDB        {cloud.Cloud.DynamoDbEndpoint} (AWS_ENDPOINT_URL_DYNAMODB, credentials test/test)", StringComparison.Ordinal));
        Assert.Contains(host.Stdout, l => l.Contains($"SQS             {cloud.Cloud.SqsEndpoint} (AWS_ENDPOINT_URL_SQS)", StringComparison.Ordinal));
        // The tables were made there: the stack's products table answers on the shared DynamoDB.
        using var dynamo = cloud.CreateDynamoDbClient();
        var products = await dynamo.DescribeTableAsync($"{stackName}-products");
        Assert.Equal(Amazon.DynamoDBv2.TableStatus.ACTIVE, products.Table.TableStatus);

        // The log lines are for a person: one short text line per entry, the framework's Information lines left out.
        await RequestDemoTokenAsync(host);
        var issued = await host.WaitForLineAsync(l => l.Contains("Access token", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3} info Auth\.\S+  Access token \S+ issued to client demo with scope [a-z: ]+  \[correlation \S+\]$", issued);
        Assert.DoesNotContain(host.Stdout, l => l.Contains("Microsoft.", StringComparison.Ordinal));
        host.Signal();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("create-client", "--stack-name", "orderprocessing")]
    [InlineData("redrive", "order-events", "--stack-name", "orderprocessing")]
    public async Task A_stack_command_without_AWS_credentials_says_how_to_give_them_in_one_line_with_exit_code_2(params string[] command)
    {
        await using var process = LocalHostProcess.Start(command, LocalHostProcess.WithoutAwsCredentials());

        Assert.Equal(2, await process.WaitForExitAsync(StartTimeout));
        var output = Assert.Single(process.Stdout.Concat(process.Stderr));
        Assert.StartsWith("error: no AWS credentials found: sign in (aws configure, aws sso login) or set AWS_PROFILE", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("create-client", "--dynamodb-endpoint")]
    [InlineData("redrive", "--sqs-endpoint")]
    public async Task A_stack_command_whose_endpoint_does_not_answer_names_it_in_one_line_with_exit_code_2(string command, string option)
    {
        var endpoint = $"http://localhost:{OrderProcessing.Local.Cloud.FreePort.Next()}";
        string[] arguments = command == "redrive" ? [command, "order-events", option, endpoint] : [command, "--stack-name", "orderprocessing", option, endpoint];
        await using var process = LocalHostProcess.Start(arguments, LocalHostProcess.WithoutAwsCredentials());

        Assert.Equal(2, await process.WaitForExitAsync(StartTimeout));
        var output = Assert.Single(process.Stdout.Concat(process.Stderr));
        Assert.Equal($"error: nothing answers at {endpoint}/ ({option}): connection refused; is the local host (or the emulator) running, and is this the endpoint it printed?",
            output);
    }

    [Fact]
    public async Task Help_exits_0_and_names_scripts_run_local()
    {
        await using var process = LocalHostProcess.Start(["--help"]);

        Assert.Equal(0, await process.WaitForExitAsync(StartTimeout));
        Assert.StartsWith("Usage: scripts/run-local [options]", process.Stdout[0], StringComparison.Ordinal);
        Assert.Contains(process.Stdout, l => l.Contains("AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS", StringComparison.Ordinal));
        Assert.Contains(process.Stdout, l => l.Contains("--log-format", StringComparison.Ordinal));
        Assert.Contains(process.Stdout, l => l.Contains("--visibility-timeout SECS", StringComparison.Ordinal));
        Assert.Empty(process.Stderr);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1")]
    [InlineData("43201")]
    public async Task A_visibility_timeout_that_SQS_would_refuse_exits_2_naming_the_option(string seconds)
    {
        await using var process = LocalHostProcess.Start(["--visibility-timeout", seconds]);

        Assert.Equal(2, await process.WaitForExitAsync(StartTimeout));
        Assert.Equal($"error: --visibility-timeout needs a value ({seconds} is not one); see scripts/run-local --help.", Assert.Single(process.Stderr));
    }

    [Fact]
    public async Task LOCAL_LOG_FORMAT_json_writes_the_Lambda_JSON_lines()
    {
        var environment = LocalHostProcess.WithoutAwsCredentials();
        environment["AWS_ENDPOINT_URL_DYNAMODB"] = cloud.Cloud.DynamoDbEndpoint.ToString();
        environment["AWS_ENDPOINT_URL_SQS"] = cloud.Cloud.SqsEndpoint.ToString();
        environment["LOCAL_LOG_FORMAT"] = "json";
        await using var host = LocalHostProcess.Start(["--urls", "http://127.0.0.1:0", "--stack-name", $"json-logs-{Guid.NewGuid():N}"[..20]], environment);
        await host.WaitUntilReadyAsync(StartTimeout);

        await RequestDemoTokenAsync(host);
        var issued = await host.WaitForLineAsync(l => l.Contains("Access token", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        using var json = System.Text.Json.JsonDocument.Parse(issued);
        Assert.Equal("Information", json.RootElement.GetProperty("level").GetString());
        Assert.Equal("demo", json.RootElement.GetProperty("client_id").GetString());
        Assert.True(json.RootElement.TryGetProperty("correlation_id", out _));
        Assert.DoesNotContain(host.Stdout, l => l.Contains("\"logger\":\"Microsoft.", StringComparison.Ordinal));
        host.Signal();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private static async Task RequestDemoTokenAsync(LocalHostProcess host)
    {
        var api = host.Stdout.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"HTTP API\s+(http://\S+)")).First(m => m.Success).Groups[1].Value;
        using var http = new HttpClient { BaseAddress = new Uri(api) };
        Assert.NotEmpty(await TestData.AccessTokenAsync(http, "demo", "demo-secret"));
    }
}
