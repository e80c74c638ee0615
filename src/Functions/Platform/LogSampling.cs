using System.Globalization;
using Microsoft.Extensions.Options;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// Debug log sampling with the semantics of Powertools' POWERTOOLS_LOGGER_SAMPLE_RATE: for each request (each
/// Lambda invocation), with probability <see cref="Rate"/>, debug lines are written even when the log level is
/// higher, so an operator sees the full story of a fraction of invocations without paying for it on every one.
/// </summary>
public sealed class LogSampler(double rate, Func<double> random)
{
    public const string Setting = "POWERTOOLS_LOGGER_SAMPLE_RATE";

    private static readonly AsyncLocal<bool> Sampled = new();

    public LogSampler(IConfiguration configuration)
        : this(ParseRate(configuration[Setting]), Random.Shared.NextDouble)
    {
    }

    /// <summary>0 (never) to 1 (every invocation).</summary>
    public double Rate { get; } = rate;

    /// <summary>True while the current request was drawn for debug logging.</summary>
    public static bool CurrentIsSampled => Sampled.Value;

    /// <summary>Draws for one invocation: true with probability <see cref="Rate"/>.</summary>
    public bool Decide() => Rate > 0 && (Rate >= 1 || random() < Rate);

    /// <summary>Marks the rest of the current async flow (one request) as sampled or not.</summary>
    public static void MarkCurrent(bool sampled) => Sampled.Value = sampled;

    /// <summary>A number from 0 to 1; anything else (missing, malformed, out of range) turns sampling off.</summary>
    public static double ParseRate(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate is >= 0 and <= 1 ? rate : 0;

    /// <summary>
    /// Whether a line passes: at or above the configured level always; a debug line also when the request is
    /// sampled. Levels are never lowered below Debug, and a category silenced with None stays silent.
    /// </summary>
    public static bool Passes(LogLevel level, LogLevel configured, bool sampled) =>
        level >= configured || (sampled && configured != LogLevel.None && level >= LogLevel.Debug);
}

/// <summary>
/// Rewrites the logging filter rules (from configuration, e.g. Logging__LogLevel__Default) so that each lets
/// debug lines through while the request is sampled; without a sample rate the rules are left as they are.
/// </summary>
internal sealed class SampledLogFilter(LogSampler sampler) : IPostConfigureOptions<LoggerFilterOptions>
{
    public void PostConfigure(string? name, LoggerFilterOptions options)
    {
        if (sampler.Rate <= 0)
        {
            return;
        }

        var rules = options.Rules.Select(Sampled).ToList();
        // The least specific rule, placed first so every configured rule wins over it: the factory's own minimum level.
        rules.Insert(0, Sampled(new LoggerFilterRule(null, null, options.MinLevel, null)));
        options.Rules.Clear();
        foreach (var rule in rules)
        {
            options.Rules.Add(rule);
        }

        options.MinLevel = LogLevel.Trace;
    }

    private static LoggerFilterRule Sampled(LoggerFilterRule rule)
    {
        if (rule.LogLevel is not { } configured || configured <= LogLevel.Debug)
        {
            return rule;
        }

        var filter = rule.Filter;
        return new LoggerFilterRule(rule.ProviderName, rule.CategoryName, LogLevel.Debug, (provider, category, level) =>
            LogSampler.Passes(level, configured, LogSampler.CurrentIsSampled) && (filter?.Invoke(provider, category, level) ?? true));
    }
}
