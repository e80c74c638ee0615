using System.Text.Json;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Platform;

public sealed class MetricsTests
{
    [Fact]
    public void A_count_is_an_Embedded_Metric_Format_line_in_the_OrderProcessing_namespace()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["POWERTOOLS_SERVICE_NAME"] = "orderprocessing",
            ["AWS_LAMBDA_FUNCTION_NAME"] = "OrdersApi",
        }).Build();
        using var output = new StringWriter();
        var metrics = new Metrics(configuration, TimeProvider.System) { Output = output };

        metrics.Count(Metrics.OrdersCreated);

        using var json = JsonDocument.Parse(output.ToString());
        var root = json.RootElement;
        var directive = root.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
        Assert.Equal("OrderProcessing", directive.GetProperty("Namespace").GetString());
        Assert.Equal(["service", "function"], directive.GetProperty("Dimensions")[0].EnumerateArray().Select(d => d.GetString()));
        Assert.Equal("OrdersCreated", directive.GetProperty("Metrics")[0].GetProperty("Name").GetString());
        Assert.Equal("Count", directive.GetProperty("Metrics")[0].GetProperty("Unit").GetString());
        Assert.Equal(1, root.GetProperty("OrdersCreated").GetDouble());
        Assert.Equal("OrdersApi", root.GetProperty("function").GetString());
        Assert.Equal("orderprocessing", root.GetProperty("service").GetString());
        Assert.True(root.GetProperty("_aws").GetProperty("Timestamp").GetInt64() > 0);
    }
}
