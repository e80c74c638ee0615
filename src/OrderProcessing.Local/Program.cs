using System.Globalization;
using System.Runtime.InteropServices;

using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Local;

/// <summary>The local host: the whole system on this machine. See docs/local-development.md.</summary>
internal static class LocalHostProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == Redrive.RedriveCommand.Name)
        {
            return await Redrive.RedriveCommand.RunAsync(args[1..], CommandLine.FindRepositoryRoot(),
                new ConfigurationBuilder().AddEnvironmentVariables().Build(), Console.Out);
        }

        if (args.Length > 0 && args[0] == Clients.CreateClientCommand.Name)
        {
            return await Clients.CreateClientCommand.RunAsync(args[1..], CommandLine.FindRepositoryRoot(),
                new ConfigurationBuilder().AddEnvironmentVariables().Build(), Console.Out);
        }

        if (args.Length > 0 && args[0] == Invoke.InvokeCommand.Name)
        {
            using var cancel = new CancellationTokenSource();
            // Ctrl+C and SIGTERM stop what the invocation started (emulators by their PIDs) before exiting.
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; cancel.Cancel(); });
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; cancel.Cancel(); });
            try
            {
                return await Invoke.InvokeCommand.RunAsync(args[1..], CommandLine.FindRepositoryRoot(), Console.Out, Console.Error,
                    cancellationToken: cancel.Token);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return 130;
            }
        }

        var options = CommandLine.Parse(args);
        if (options is null)
        {
            return 2;
        }

        using var stopping = new CancellationTokenSource();
        // Ctrl+C and SIGTERM stop everything this process started, during start-up too.
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

        LocalHost host;
        try
        {
            Console.WriteLine("Starting the OrderProcessing local host...");
            host = await LocalHost.StartAsync(options, stopping.Token);
        }
        catch (SetupException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        catch (InvalidDataException e)
        {
            await Console.Error.WriteLineAsync($"error: template.yaml: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }

        await using (host)
        {
            // The app stopping on its own (its host's lifetime) ends the run the same way.
            using var appStopping = host.App.Lifetime.ApplicationStopping.Register(stopping.Cancel);
            Banner.Print(host);
            try
            {
                await Task.Delay(Timeout.Infinite, stopping.Token);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("Stopping...");
            }
        }

        Console.WriteLine("Stopped.");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopping.Cancel();
        }
    }
}

internal static class CommandLine
{
    public static LocalHostOptions? Parse(string[] args)
    {
        var root = FindRepositoryRoot();
        var urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is { Length: > 0 } fromEnv
            ? fromEnv.Split(';', StringSplitOptions.RemoveEmptyEntries)
            : ["http://localhost:5000"];
        var stackName = "orderprocessing-local";
        var webSocketUrl = "http://localhost:5001";
        var timeout = TimeSpan.FromSeconds(60);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--urls" when value is not null:
                    urls = value.Split(';', StringSplitOptions.RemoveEmptyEntries);
                    i++;
                    break;
                case "--websocket-url" when value is not null:
                    webSocketUrl = value;
                    i++;
                    break;
                case "--repository" when value is not null:
                    root = Path.GetFullPath(value);
                    i++;
                    break;
                case "--stack-name" when value is not null:
                    stackName = value;
                    i++;
                    break;
                case "--emulator-timeout" when value is not null && double.TryParse(value, CultureInfo.InvariantCulture, out var seconds):
                    timeout = TimeSpan.FromSeconds(seconds);
                    i++;
                    break;
                case "--parameter" when value is not null && value.IndexOf('=', StringComparison.Ordinal) > 0:
                    parameters[value[..value.IndexOf('=', StringComparison.Ordinal)]] = value[(value.IndexOf('=', StringComparison.Ordinal) + 1)..];
                    i++;
                    break;
                case "-h" or "--help":
                    Console.WriteLine("""
                        Usage: dotnet run --project src/OrderProcessing.Local [-- options]
                          --urls URLS              where the API listens (default http://localhost:5000; or ASPNETCORE_URLS)
                          --websocket-url URL      where the WebSocket API listens (default http://localhost:5001)
                          --stack-name NAME        prefix of every table and queue (default orderprocessing-local)
                          --repository DIR         repository root holding template.yaml and localstack/
                          --emulator-timeout SECS  how long an emulator may take to answer (default 60)
                          --parameter NAME=VALUE   a template parameter other than its default, e.g. CarrierPickupDelaySeconds=0
                        Or: invoke FUNCTION --event FILE [--env-vars FILE]   (one function, one event, like sam local invoke; see invoke --help)
                        Or: redrive <queue> --stack-name NAME --sqs-endpoint URL   (moves a DLQ's messages back; see redrive --help)
                        Or: create-client --stack-name NAME   (a deployed stack's first admin client; see create-client --help)
                        AWS_ENDPOINT_URL, when set, is used for every AWS service and no emulator is started.
                        """);
                    return null;
                default:
                    Console.Error.WriteLine($"error: unknown option {args[i]}; see --help.");
                    return null;
            }
        }

        return new LocalHostOptions
        {
            RepositoryRoot = root,
            Urls = urls,
            WebSocketUrl = webSocketUrl,
            StackName = stackName,
            EmulatorTimeout = timeout,
            Parameters = parameters,
            Progress = line => Console.WriteLine($"  {line}"),
        };
    }

    /// <summary>The nearest folder holding template.yaml, from the working directory or the program's own.</summary>
    internal static string FindRepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "template.yaml")) && Directory.Exists(Path.Combine(dir.FullName, "localstack")))
                {
                    return dir.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}

internal static class Banner
{
    public static void Print(LocalHost host)
    {
        var api = host.Urls[0].ToString().TrimEnd('/');
        Console.WriteLine();
        Console.WriteLine($"OrderProcessing is running (stack {host.Stack.StackName}).");
        Console.WriteLine($"  HTTP API        {api}");
        Console.WriteLine($"  Health          {api}/health/ready");
        Console.WriteLine($"  WebSocket API   {host.WebSockets.Endpoint} (@connections at {host.WebSockets.CallbackUrl})");
        if (host.Cloud.IsExternal)
        {
            Console.WriteLine($"  AWS endpoint    {host.Cloud.DynamoDbEndpoint} (AWS_ENDPOINT_URL)");
        }
        else
        {
            foreach (var emulator in host.Cloud.Emulators)
            {
                Console.WriteLine($"  {emulator.Name,-15} {emulator.Endpoint} (pid {emulator.ProcessId})");
            }
        }

        Console.WriteLine($"  Tables          {host.Stack.Tables.Count}, queues {host.Stack.Queues.Count}, from template.yaml");
        Console.WriteLine($"  API reference   {api}/scalar (OpenAPI document: {api}/openapi/v1.json)");
        Console.WriteLine($"  Catalogue       {Seeding.DemoCatalogue.Products.Count} demo products in EUR, e.g. {Seeding.DemoCatalogue.Products[0].Id};"
            + $" {Seeding.DemoCatalogue.LastUnitProductId} has 1 in stock, {Seeding.DemoCatalogue.SoldOutProductId} none");
        if (host.EventSources is { } sources)
        {
            Console.WriteLine($"  Event sources   {sources.Sources.Count} DynamoDB stream mapping(s) posting to {api}/events");
        }

        if (host.QueueSources is { } queues)
        {
            Console.WriteLine($"  Queue sources   {string.Join(", ", queues.Sources.Select(q => $"{q.Queue.Name} -> {q.Settings.FunctionLogicalId}"))}");
            Console.WriteLine($"  DLQ redrive     dotnet run --project src/OrderProcessing.Local -- redrive <order-events|delivery-status|carrier-events>"
                + $" --stack-name {host.Stack.StackName} --sqs-endpoint {host.Cloud.SqsEndpoint}");
        }

        Console.WriteLine($"  Token endpoint  {api}/oauth/token (JWKS {api}/.well-known/jwks.json)");
        foreach (var client in host.Clients)
        {
            Console.WriteLine($"  OAuth client    {client.ClientId} / {client.Secret}  scopes: {string.Join(' ', client.Scopes)}");
        }

        var demo = host.Clients[0];
        Console.WriteLine($"  Try             curl -s -u {demo.ClientId}:{demo.Secret} -d grant_type=client_credentials {api}/oauth/token");
        Console.WriteLine($"Ready in {host.StartupTime.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s. Press Ctrl+C to stop.");
    }
}
