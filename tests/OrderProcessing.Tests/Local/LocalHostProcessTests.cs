using System.Net;
using System.Net.Sockets;

namespace OrderProcessing.Tests.Local;

/// <summary>The local host run as a process, as the README tells a user to run it.</summary>
public sealed class LocalHostProcessTests
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
}
