using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Platform;

public sealed class LogSamplingTests(CloudFixture cloud)
{
    [Theory]
    [InlineData(0.0, 0.0, false)]
    [InlineData(0.1, 0.0999, true)]
    [InlineData(0.1, 0.1, false)]
    [InlineData(0.1, 0.95, false)]
    [InlineData(1.0, 0.9999, true)]
    [InlineData(0.5, 0.25, true)]
    public void An_invocation_is_sampled_when_the_draw_falls_below_the_rate(double rate, double draw, bool sampled) =>
        Assert.Equal(sampled, new LogSampler(rate, () => draw).Decide());

    [Fact]
    public void Over_many_invocations_the_share_sampled_is_the_rate()
    {
        var draws = Enumerable.Range(0, 1000).Select(i => i / 1000.0).GetEnumerator();
        var sampler = new LogSampler(0.25, () => draws.MoveNext() ? draws.Current : 1);

        Assert.Equal(250, Enumerable.Range(0, 1000).Count(_ => sampler.Decide()));
    }

    [Theory]
    [InlineData("0.1", 0.1)]
    [InlineData("1", 1.0)]
    [InlineData("0", 0.0)]
    [InlineData("1.5", 0.0)]
    [InlineData("-0.2", 0.0)]
    [InlineData("ten percent", 0.0)]
    [InlineData(null, 0.0)]
    public void The_rate_is_a_number_from_0_to_1_anything_else_turns_sampling_off(string? setting, double rate) =>
        Assert.Equal(rate, LogSampler.ParseRate(setting));

    [Theory]
    [InlineData(LogLevel.Debug, LogLevel.Information, false, false)]
    [InlineData(LogLevel.Debug, LogLevel.Information, true, true)]
    [InlineData(LogLevel.Trace, LogLevel.Information, true, false)]
    [InlineData(LogLevel.Information, LogLevel.Warning, true, true)]
    [InlineData(LogLevel.Warning, LogLevel.Warning, false, true)]
    [InlineData(LogLevel.Critical, LogLevel.None, true, false)]
    public void A_sampled_invocation_lets_debug_lines_through_but_keeps_silenced_categories_silent(LogLevel level, LogLevel configured,
        bool sampled, bool passes) =>
        Assert.Equal(passes, LogSampler.Passes(level, configured, sampled));

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public async Task With_the_rate_set_a_sampled_request_writes_its_debug_lines_at_information_level(string rate, bool debugWritten)
    {
        var logs = new JsonLogCapture();
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("sampling"),
            new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                [LogSampler.Setting] = rate,
            },
            services => services.AddSingleton<ILoggerProvider>(logs));
        using var http = app.CreateClient();

        using var response = await http.GetAsync(new Uri("/products/none", UriKind.Relative));

        var requestLines = logs.Entries.Where(l => l.TryGetProperty("request_path", out var path) && path.GetString() == "/products/none").ToList();
        Assert.NotEmpty(requestLines);
        Assert.Equal(debugWritten, requestLines.Any(l => l.GetProperty("level").GetString() == "Debug"));
        Assert.Equal(debugWritten, requestLines.Any(l => l.TryGetProperty("sampling_rate", out _)));
        Assert.DoesNotContain(logs.Entries, l => l.GetProperty("level").GetString() == "Debug" && !l.TryGetProperty("request_path", out _));
    }
}
