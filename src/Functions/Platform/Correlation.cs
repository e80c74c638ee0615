using System.Diagnostics;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// One correlation id from the HTTP request to the last notification: taken from X-Correlation-Id
/// (or created), returned on the response, and kept in a log scope so every log line carries it.
/// </summary>
public static class Correlation
{
    public const string HeaderName = "X-Correlation-Id";
    public const string ItemKey = "correlation_id";
    private const int MaxLength = 128;

    public static string CorrelationId(this HttpContext context) =>
        context.Items[ItemKey] as string ?? context.TraceIdentifier;

    /// <summary>Accepts a caller's id only when it is short and printable, so it cannot forge log lines.</summary>
    public static bool IsAcceptable(string? value) =>
        !string.IsNullOrWhiteSpace(value)
        && value.Length <= MaxLength
        && value.All(c => c is >= '!' and <= '~');

    public static string NewId() => Guid.CreateVersion7().ToString();

    internal static IApplicationBuilder UseCorrelation(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var offered = context.Request.Headers[HeaderName].ToString();
            var id = IsAcceptable(offered) ? offered : NewId();
            context.Items[ItemKey] = id;
            context.Response.Headers[HeaderName] = id;
            Activity.Current?.SetTag(ItemKey, id);

            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("OrderProcessing");
            using (logger.BeginScope(new Dictionary<string, object> { [ItemKey] = id }))
            {
                await next(context);
            }
        });
}
