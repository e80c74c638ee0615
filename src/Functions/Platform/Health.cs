using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.SQS;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// GET /health is liveness (the Lambda Web Adapter's readiness probe: it touches nothing).
/// GET /health/ready checks every table and queue this function is configured with.
/// </summary>
public static class Health
{
    internal const string ReadyTag = "ready";
    private static readonly TimeSpan DependencyTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Registers one check per configured table and queue. The registrations are made when the options are
    /// first read, from the app's final configuration, so a host that adds settings late is honoured.
    /// </summary>
    internal static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks();
        services.AddOptions<HealthCheckServiceOptions>().Configure<ResourceNames>((options, names) =>
        {
            foreach (var (variable, table) in names.ConfiguredTables)
            {
                options.Registrations.Add(new HealthCheckRegistration(
                    $"dynamodb:{table}",
                    sp => new TableHealthCheck(sp.GetRequiredService<IAmazonDynamoDB>(), table),
                    HealthStatus.Unhealthy,
                    [ReadyTag, variable],
                    DependencyTimeout));
            }

            foreach (var (variable, queueUrl) in names.ConfiguredQueues)
            {
                options.Registrations.Add(new HealthCheckRegistration(
                    $"sqs:{QueueName(queueUrl)}",
                    sp => new QueueHealthCheck(sp.GetRequiredService<IAmazonSQS>(), queueUrl),
                    HealthStatus.Unhealthy,
                    [ReadyTag, variable],
                    DependencyTimeout));
            }
        });
        return services;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = WriteAsync,
        }).AllowAnonymous().ExcludeFromDescription();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteAsync,
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static string QueueName(string queueUrl) => queueUrl[(queueUrl.LastIndexOf('/') + 1)..];

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new HealthResponse(
            report.Status.ToString(),
            report.Entries.ToDictionary(
                e => e.Key,
                e => new HealthEntry(e.Value.Status.ToString(), e.Value.Description, e.Value.Duration.TotalMilliseconds)));
        return JsonSerializer.SerializeAsync(context.Response.Body, body, PlatformJson.Default.HealthResponse, context.RequestAborted);
    }

    private sealed class TableHealthCheck(IAmazonDynamoDB dynamo, string table) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var response = await dynamo.DescribeTableAsync(table, cancellationToken);
                return response.Table.TableStatus == TableStatus.ACTIVE
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy($"table {table} is {response.Table.TableStatus}");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"table {table}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private sealed class QueueHealthCheck(IAmazonSQS sqs, string queueUrl) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await sqs.GetQueueAttributesAsync(queueUrl, ["QueueArn"], cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy($"queue {QueueName(queueUrl)}: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}

/// <summary>Body of /health and /health/ready.</summary>
public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthEntry> Checks);

/// <summary>One dependency in a health report.</summary>
public sealed record HealthEntry(string Status, string? Description, double DurationMs);
