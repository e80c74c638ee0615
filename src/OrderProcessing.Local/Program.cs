using System.Globalization;
using System.Runtime.InteropServices;

using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Local;

/// <summary>The local host: the whole system on this machine. See docs/local-development.md.</summary>
internal static class LocalHostProgram
{
    /// <summary>
    /// Exit codes: 0 done (or stopped by Ctrl+C / SIGTERM after start-up); 1 the operation failed; 2 it cannot run as
    /// asked or the machine is not set up for it (one line starting "error:" names the problem and the fix); 130
    /// interrupted during start-up.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await RunAsync(args);
        }
        catch (Exception e) when (CommandErrors.Describe(e) is { } line)
        {
            await Console.Error.WriteLineAsync($"error: {line}");
            return 2;
        }
    }

    private static async Task<int> RunAsync(string[] args)
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

        var (options, exitCode) = CommandLine.Parse(args);
        if (options is null)
        {
            return exitCode;
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
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
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
    /// <summary>The options, or null and the exit code (0 after --help, 2 for a mistake, said in one line on stderr).</summary>
    public static (LocalHostOptions? Options, int ExitCode) Parse(string[] args)
    {
        var root = FindRepositoryRoot();
        var urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is { Length: > 0 } fromEnv
            ? fromEnv.Split(';', StringSplitOptions.RemoveEmptyEntries)
            : ["http://localhost:5000"];
        var stackName = "orderprocessing-local";
        var webSocketUrl = "http://localhost:5001";
        var timeout = TimeSpan.FromSeconds(60);
        TimeSpan? visibilityTimeout = null;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var logFormatText = Environment.GetEnvironmentVariable(Logging.LocalLogging.FormatVariable);
        var logFormatSource = Logging.LocalLogging.FormatVariable;
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
                case "--visibility-timeout" when value is not null && int.TryParse(value, CultureInfo.InvariantCulture, out var visibility) && visibility is >= 0 and <= 43_200:
                    visibilityTimeout = TimeSpan.FromSeconds(visibility);
                    i++;
                    break;
                case "--parameter" when value is not null && value.IndexOf('=', StringComparison.Ordinal) > 0:
                    parameters[value[..value.IndexOf('=', StringComparison.Ordinal)]] = value[(value.IndexOf('=', StringComparison.Ordinal) + 1)..];
                    i++;
                    break;
                case "--log-format" when value is not null:
                    logFormatText = value;
                    logFormatSource = "--log-format";
                    i++;
                    break;
                case "-h" or "--help":
                    Console.WriteLine(Usage);
                    return (null, 0);
                case "--urls" or "--websocket-url" or "--repository" or "--stack-name" or "--emulator-timeout" or "--visibility-timeout" or "--parameter" or "--log-format":
                    Console.Error.WriteLine($"error: {args[i]} needs a value"
                        + (value is null ? "" : $" ({value} is not one)") + $"; see {ProgramName} --help.");
                    return (null, 2);
                default:
                    Console.Error.WriteLine($"error: unknown option {args[i]}; see {ProgramName} --help.");
                    return (null, 2);
            }
        }

        var logFormat = logFormatText is null ? Logging.LogFormat.Text : Logging.LocalLogging.ParseFormat(logFormatText);
        if (logFormat is null)
        {
            Console.Error.WriteLine($"error: {logFormatSource} {logFormatText} is not a log format; use text (readable lines) or json (as on Lambda).");
            return (null, 2);
        }

        return (new LocalHostOptions
        {
            RepositoryRoot = root,
            Urls = urls,
            WebSocketUrl = webSocketUrl,
            StackName = stackName,
            EmulatorTimeout = timeout,
            QueueVisibilityTimeout = visibilityTimeout,
            Parameters = parameters,
            LogFormat = logFormat.Value,
            Progress = line => Console.WriteLine($"  {line}"),
        }, 0);
    }

    private const string ProgramName = "scripts/run-local";

    private static string Usage => $"""
        Usage: {ProgramName} [options]
        Runs the whole system on this machine: DynamoDB Local and fauxqs on free ports, every table and queue of
        template.yaml, the API, the WebSocket API and the event source mappings, with demo data. Ctrl+C stops it all.
        (dotnet run --project src/OrderProcessing.Local -- takes the same options and commands.)

        Options:
          --urls URLS              where the API listens (default http://localhost:5000; or ASPNETCORE_URLS)
          --websocket-url URL      where the WebSocket API listens (default http://localhost:5001)
          --stack-name NAME        prefix of every table and queue (default orderprocessing-local)
          --repository DIR         repository root holding template.yaml and localstack/
          --emulator-timeout SECS  how long an emulator may take to answer (default 60)
          --visibility-timeout SECS  receive SQS messages with this visibility timeout (0 to 43200) instead of each
                                   queue's 180 s: a failed message comes back, and a poison one reaches its DLQ, sooner
          --parameter NAME=VALUE   a template parameter other than its default, e.g. CarrierPickupDelaySeconds=0
          --log-format FORMAT      text: one readable line per entry (default); json: the Lambda lines (or {Logging.LocalLogging.FormatVariable})

        Commands:
          {ProgramName} invoke FUNCTION --event FILE   one function, one event, like sam local invoke (invoke --help)
          {ProgramName} redrive <queue> --sqs-endpoint URL   moves a DLQ's messages back (redrive --help)
          {ProgramName} create-client --stack-name NAME   a deployed stack's first admin client (create-client --help)

        Environment:
          AWS_ENDPOINT_URL, or AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS: use the services there (e.g. LocalStack)
            and start no emulator. An endpoint on this machine gets the dummy credentials test/test unless
            AWS_ACCESS_KEY_ID or AWS_PROFILE is set; anywhere else the AWS credential chain applies.
          Logging__LogLevel__Microsoft.AspNetCore=Information brings the framework's lines back; --parameter LogLevel=Debug
            sets the app's level, as the template's LogLevel parameter does on Lambda.

        Exit codes: 0 stopped by Ctrl+C or SIGTERM; 2 could not start as asked (the "error:" line says why and what
        to do); 130 interrupted while starting.
        """;

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

/// <summary>What a command line prints instead of a stack trace when the environment, not the code, is at fault.</summary>
internal static class CommandErrors
{
    public static string? Describe(Exception e) => e switch
    {
        SetupException setup => setup.Message,
        InvalidDataException template => $"template.yaml: {template.Message}",
        Amazon.Runtime.AmazonServiceException aws =>
            $"AWS refused a call: {aws.ErrorCode ?? aws.StatusCode.ToString()}: {FirstLine(aws.Message)}; check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID), "
            + "AWS_REGION and the endpoint.",
        Amazon.Runtime.AmazonClientException client =>
            $"{FirstLine(client.Message)}; check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID), AWS_REGION and the endpoint.",
        HttpRequestException http => $"a call to AWS could not be made: {FirstLine(http.Message)}; is the endpoint running and reachable?",
        _ => null,
    };

    private static string FirstLine(string text) =>
        text.Split('\n', 2)[0].Trim().TrimEnd('.', ':');
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
        if (host.Cloud.IsExternal && host.Cloud.DynamoDbEndpoint == host.Cloud.SqsEndpoint)
        {
            Console.WriteLine($"  AWS endpoint    {host.Cloud.DynamoDbEndpoint} (AWS_ENDPOINT_URL{Credentials(host.Cloud)})");
        }
        else if (host.Cloud.IsExternal)
        {
            Console.WriteLine($"  DynamoDB        {host.Cloud.DynamoDbEndpoint} (AWS_ENDPOINT_URL_DYNAMODB{Credentials(host.Cloud)})");
            Console.WriteLine($"  SQS             {host.Cloud.SqsEndpoint} (AWS_ENDPOINT_URL_SQS)");
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

    private static string Credentials(LocalCloud cloud) =>
        cloud.UsesEmulatorCredentials ? $", credentials {LocalCloud.AccessKeyId}/{LocalCloud.SecretAccessKey}" : "";
}
