using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Tests.Products;

public sealed class AvailabilityRulesTests
{
    private static Product Product(string id, int stock) =>
        new(id, id, null, 5m, "EUR", stock, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    [Fact]
    public void Items_are_available_only_when_every_one_is_known_and_in_stock()
    {
        var result = Availability.Evaluate(
            [new("a", 2), new("b", 3), new("c", 1)],
            new Dictionary<string, Product> { ["a"] = Product("a", 2), ["b"] = Product("b", 1) });

        Assert.False(result.Available);
        Assert.Equal(new ItemAvailability("a", 2, 2, true, null), result.Items[0]);
        Assert.Equal(new ItemAvailability("b", 3, 1, false, UnavailableReason.InsufficientStock), result.Items[1]);
        Assert.Equal(new ItemAvailability("c", 1, 0, false, UnavailableReason.UnknownProduct), result.Items[2]);
    }

    [Fact]
    public void Every_problem_of_the_items_is_reported_at_once()
    {
        var validation = new RequestValidation();
        Availability.Validate(validation, [new("a", 0), new("a", 1001), new(null, 1), new("b", 1) { Unknown = new() { ["colour"] = default } }]);

        var errors = validation.ToDictionary();
        Assert.Contains("items[0].quantity", errors.Keys);
        Assert.Contains("items[1].quantity", errors.Keys);
        Assert.Contains("items[1].productId", errors.Keys);
        Assert.Contains("items[2].productId", errors.Keys);
        Assert.Contains("items[3].colour", errors.Keys);
    }

    [Fact]
    public void An_empty_or_oversized_order_is_refused()
    {
        var empty = new RequestValidation();
        Availability.Validate(empty, []);
        Assert.Contains("items", empty.ToDictionary().Keys);

        var large = new RequestValidation();
        Availability.Validate(large, Enumerable.Range(0, 51).Select(i => new RequestedItem($"p{i}", 1)).ToList());
        Assert.Contains("items", large.ToDictionary().Keys);
    }
}
