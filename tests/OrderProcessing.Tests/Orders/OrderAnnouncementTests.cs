using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Tests.Orders;

/// <summary>
/// The delivery pipeline's status changes claim their announcement with the status write itself: a repeat of the
/// change announces nothing, unless the announcement failed and gave its claim back; a status the API wrote is
/// announced again for the observer to claim.
/// </summary>
public sealed class OrderAnnouncementTests(CloudFixture cloud)
{
    [Fact]
    public async Task A_repeated_transition_is_announced_once_with_its_claim_on_the_order_item()
    {
        var observer = new ScriptedObserver();
        await using var app = await StartAsync(observer);
        var order = await app.PlaceOrderAsync();
        var transitions = app.Services.GetRequiredService<OrderTransitions>();

        var shipped = await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "ship-1", default);
        var again = await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "ship-2", default);

        Assert.Equal((TransitionDecision.Apply, TransitionDecision.AlreadyInStatus), (shipped.Decision, again.Decision));
        var announced = Assert.Single(observer.Seen);
        Assert.Equal((order.OrderId, OrderStatus.Shipped, 2L, true), (announced.OrderId, announced.Status, announced.Version, announced.AnnouncementClaimed));
        Assert.Null((await app.Data.OrderAsync(order.OrderId))!.AnnouncementReleased);
    }

    [Fact]
    public async Task An_announcement_that_fails_gives_its_claim_back_and_the_repeat_announces_it_for_the_observer_to_claim()
    {
        var observer = new ScriptedObserver { FailNext = 1 };
        await using var app = await StartAsync(observer);
        var order = await app.PlaceOrderAsync();
        var transitions = app.Services.GetRequiredService<OrderTransitions>();

        await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "ship-1", default);
        var afterFailure = (await app.Data.OrderAsync(order.OrderId))!;
        await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "ship-2", default);

        Assert.Equal((OrderStatus.Shipped, 2L, (long?)2), (afterFailure.Status, afterFailure.Version, afterFailure.AnnouncementReleased));
        Assert.Equal([(2L, true), (2L, false)], observer.Seen.Select(c => (c.Version, c.AnnouncementClaimed)));
    }

    [Fact]
    public async Task The_next_status_is_announced_again_after_a_repeat_of_the_previous_one()
    {
        var observer = new ScriptedObserver();
        await using var app = await StartAsync(observer);
        var order = await app.PlaceOrderAsync();
        var transitions = app.Services.GetRequiredService<OrderTransitions>();

        await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "ship-1", default);
        await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "ship-2", default);
        await transitions.ApplyAsync(order.OrderId, OrderStatus.Delivered, "delivery", "deliver-1", default);
        await transitions.ApplyAsync(order.OrderId, OrderStatus.Delivered, "delivery", "deliver-2", default);

        Assert.Equal([(OrderStatus.Shipped, 2L), (OrderStatus.Delivered, 3L)], observer.Seen.Select(c => (c.Status, c.Version)));
    }

    [Fact]
    public async Task A_repeat_of_a_status_the_api_wrote_is_announced_for_the_observer_to_claim()
    {
        var observer = new ScriptedObserver();
        await using var app = await StartAsync(observer);
        var order = await app.PlaceOrderAsync();
        var owner = (await app.Data.OrderAsync(order.OrderId))!.Owner;
        var cancelled = await app.Services.GetRequiredService<OrderPlacement>().CancelAsync(order.OrderId, owner, "cancel-1", null, default);

        var repeat = await app.Services.GetRequiredService<OrderTransitions>().ApplyAsync(order.OrderId, OrderStatus.Cancelled, "delivery", "cancel-2", default);

        Assert.IsType<CancellationOutcome.Cancelled>(cancelled);
        Assert.Equal(TransitionDecision.AlreadyInStatus, repeat.Decision);
        var announced = Assert.Single(observer.Seen);
        Assert.Equal((OrderStatus.Cancelled, 2L, false), (announced.Status, announced.Version, announced.AnnouncementClaimed));
    }

    private async Task<AppFixture> StartAsync(ScriptedObserver observer) =>
        await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("announce"), services: services =>
        {
            services.RemoveAll<IOrderStatusObserver>();
            services.AddSingleton<IOrderStatusObserver>(observer);
        });

    /// <summary>Records every announcement in order; the first <see cref="FailNext"/> of them are not delivered.</summary>
    private sealed class ScriptedObserver : IOrderStatusObserver
    {
        private readonly ConcurrentQueue<OrderStatusChange> _seen = new();
        private int _failNext;

        public int FailNext
        {
            get => Volatile.Read(ref _failNext);
            init => _failNext = value;
        }

        public IReadOnlyList<OrderStatusChange> Seen => [.. _seen];

        public Task<bool> OnStatusChangedAsync(OrderStatusChange change, CancellationToken cancellationToken)
        {
            _seen.Enqueue(change);
            return Task.FromResult(Interlocked.Decrement(ref _failNext) < 0);
        }
    }
}
