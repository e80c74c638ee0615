using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using OrderProcessing.Local.Seeding;

namespace OrderProcessing.Tests.Local;

/// <summary>
/// The reference web page (web/, served at /app/) in a real browser: Debian's Chromium driven by Playwright
/// against the local host, with the carrier simulator's delays at zero. Playwright never downloads a browser
/// here; without /usr/bin/chromium these tests fail and say how to install it.
/// </summary>
public sealed class OrderTrackingPageTests(CloudFixture cloud) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const float Wait = 60_000;

    private readonly SystemFixture _system = new(cloud);
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    /// <summary>Where the screenshots of a run go (bin/.../artifacts), kept after the run.</summary>
    public static string ArtifactsDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "artifacts");

    public async ValueTask InitializeAsync()
    {
        Assert.True(File.Exists(Chromium),
            $"Chromium is not installed at {Chromium}: install Debian's package (`apt-get install chromium`; .ci/run does). Playwright is pointed at it and never downloads a browser.");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        await _system.InitializeAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Root in a container has no user namespace for Chromium's sandbox.
            Args = ["--no-sandbox"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await _system.DisposeAsync();
    }

    [Fact]
    public async Task Placing_an_order_shows_its_badge_go_from_PENDING_SHIPMENT_to_SHIPPED_to_DELIVERED_without_reloading()
    {
        var page = await OpenAsync(new BrowserNewPageOptions { ViewportSize = Desktop });
        // Every status the badges show and every timeline entry, in the order the page shows them.
        await page.EvaluateAsync("""
            () => {
              window.seen = { badges: [], timeline: [] };
              new MutationObserver((mutations) => {
                for (const m of mutations) {
                  if (m.type === "attributes" && m.target.classList.contains("badge")) window.seen.badges.push(m.target.dataset.status);
                  for (const node of m.addedNodes) {
                    if (node.nodeType === 1 && node.parentElement?.classList.contains("timeline")) window.seen.timeline.push(node.dataset.status);
                  }
                }
              }).observe(document.getElementById("orders"), { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"] });
            }
            """);
        await SignInAsync(page);

        await page.Locator($"#qty-{DemoCatalogue.Products[0].Id}").FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Place order" }).ClickAsync();
        await Assertions.Expect(page.Locator("#order-result .result-ok")).ToContainTextAsync("Order placed: ", new() { Timeout = Wait });
        await AssertOutcomeInViewAndFocusedAsync(page);
        var orderId = (await page.Locator("#order-result .result-ok").TextContentAsync())!["Order placed: ".Length..].Trim();
        var order = page.Locator($"li.order[data-order-id=\"{orderId}\"]");
        await Assertions.Expect(order.Locator(".badge")).ToHaveAttributeAsync("data-status", "DELIVERED", new() { Timeout = Wait });

        Assert.Equal(["PENDING_SHIPMENT", "SHIPPED", "DELIVERED"], await order.Locator(".timeline li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.status)"));
        Assert.Equal(["PENDING_SHIPMENT", "SHIPPED", "DELIVERED"], await page.EvaluateAsync<string[]>("() => window.seen.timeline"));
        var badges = await page.EvaluateAsync<string[]>("() => window.seen.badges");
        Assert.Equal("PENDING_SHIPMENT", badges[0]);
        Assert.Equal("DELIVERED", badges[^1]);
        Assert.Equal("DELIVERED", await order.Locator(".badge").TextContentAsync());
        // The same document all along: the observer installed before the order is still there, no second navigation.
        Assert.Equal(1, await page.EvaluateAsync<int>("() => performance.getEntriesByType('navigation').length"));
        await Assertions.Expect(page.Locator("#connection-state")).ToHaveTextAsync("Live");

        await AssertAccessibleAsync(page);

        // The window as the user sees it (docs/order-tracking.png): the outcome stays at the bottom of it.
        var screenshot = Path.Combine(ArtifactsDirectory, "order-tracking.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });
        TestContext.Current.AddAttachment("order-tracking.png", await File.ReadAllBytesAsync(screenshot, TestContext.Current.CancellationToken), "image/png");
        TestContext.Current.SendDiagnosticMessage($"Screenshot of the final state: {screenshot}");
        TestContext.Current.TestOutputHelper?.WriteLine($"Screenshot of the final state: {screenshot}");
    }

    [Fact]
    public async Task An_out_of_stock_item_shows_the_availability_check_and_the_409_detail_and_orders_nothing()
    {
        var page = await OpenAsync(new BrowserNewPageOptions { ViewportSize = Desktop });
        await AssertAccessibleAsync(page);
        await SignInAsync(page);
        var soldOut = page.Locator($"#qty-{DemoCatalogue.SoldOutProductId}");
        var shortfall = $"{DemoCatalogue.Products.Single(p => p.Id == DemoCatalogue.SoldOutProductId).Name}: 1 wanted, 0 in stock (not enough in stock)";
        await Assertions.Expect(page.Locator($"label[for=\"qty-{DemoCatalogue.SoldOutProductId}\"]")).ToContainTextAsync("out of stock");
        await soldOut.FillAsync("1");

        await page.GetByRole(AriaRole.Button, new() { Name = "Check availability" }).ClickAsync();
        await Assertions.Expect(page.Locator("#order-result .result-bad")).ToHaveTextAsync("Not everything is available:", new() { Timeout = Wait });
        await Assertions.Expect(page.Locator("#order-result li")).ToHaveTextAsync(shortfall);

        await page.GetByRole(AriaRole.Button, new() { Name = "Place order" }).ClickAsync();
        await Assertions.Expect(page.Locator("#order-result .result-bad")).ToContainTextAsync("Some items are not available.", new() { Timeout = Wait });
        await Assertions.Expect(page.Locator("#order-result .result-bad")).ToContainTextAsync("Nothing was ordered");
        await Assertions.Expect(page.Locator("#order-result li")).ToHaveTextAsync(shortfall);
        await AssertOutcomeInViewAndFocusedAsync(page);
        await Assertions.Expect(page.Locator("li.order")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#orders-empty")).ToBeVisibleAsync();
        await AssertAccessibleAsync(page);
    }

    [Fact]
    public async Task On_a_phone_sized_screen_it_is_used_with_the_keyboard_alone_and_nothing_overflows_sideways()
    {
        var page = await OpenAsync(new BrowserNewPageOptions
        {
            ViewportSize = new ViewportSize { Width = 360, Height = 740 },
            IsMobile = true,
            HasTouch = true,
            DeviceScaleFactor = 2,
        });

        // Keyboard only: the secret field, Enter to sign in, then a quantity and Enter to order.
        await page.Locator("#client-secret").FocusAsync();
        await page.Keyboard.TypeAsync("demo-secret");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#connection-state")).ToHaveTextAsync("Live", new() { Timeout = Wait });
        await Assertions.Expect(page.Locator("#shop-title")).ToBeFocusedAsync();
        await Assertions.Expect(page.Locator("#client-secret")).ToHaveValueAsync("");
        var quantityId = $"qty-{DemoCatalogue.Products[0].Id}";
        var quantity = page.Locator($"#{quantityId}");
        await Assertions.Expect(quantity).ToBeVisibleAsync(new() { Timeout = Wait });
        var focusOrder = new List<string>();
        for (var presses = 0; presses < 30 && !focusOrder.Contains(quantityId); presses++)
        {
            await page.Keyboard.PressAsync("Tab");
            focusOrder.Add(await page.EvaluateAsync<string>("() => document.activeElement?.id ?? ''"));
        }

        Assert.True(focusOrder.Contains(quantityId), $"Tab never reaches {quantityId}; it goes {string.Join(" → ", focusOrder)}");
        await page.Keyboard.TypeAsync("1");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("li.order")).ToHaveCountAsync(1, new() { Timeout = Wait });

        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"the page is {overflow} px wider than a 360 px screen");
        var wide = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll("body *")]
              .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
              .map((e) => e.id || e.className || e.tagName)
            """);
        Assert.Empty(wide);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDirectory, "order-tracking-phone.png"), FullPage = true });
    }

    /// <summary>A laptop's window: the form is taller than it, so its end (the buttons) starts below the fold.</summary>
    private static readonly ViewportSize Desktop = new() { Width = 1280, Height = 900 };

    /// <summary>
    /// The outcome of "Place order" is where the user is looking: wholly inside the window, next to the button that
    /// was pressed (both in view together), and focused, so a screen reader reads it and the keyboard goes on from it.
    /// </summary>
    private static async Task AssertOutcomeInViewAndFocusedAsync(IPage page)
    {
        var outcome = page.Locator("#order-result");
        await Assertions.Expect(outcome).ToBeFocusedAsync();
        await Assertions.Expect(outcome).ToBeInViewportAsync(new() { Ratio = 1 });
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Place order" })).ToBeInViewportAsync(new() { Ratio = 1 });
        var gap = await page.EvaluateAsync<double>("""
            () => document.getElementById("order-result").getBoundingClientRect().top - document.getElementById("place").getBoundingClientRect().bottom
            """);
        Assert.InRange(gap, 0, 48);
    }

    private async Task<IPage> OpenAsync(BrowserNewPageOptions options)
    {
        var page = await _browser.NewPageAsync(options);
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        // The WebSocket API of this local host is on a port of its own, named in the query string as on AWS.
        var url = new Uri(_system.Api, $"/app/?ws={Uri.EscapeDataString(_system.WebSocket.ToString().TrimEnd('/'))}");
        await page.GotoAsync(url.ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Order tracking" })).ToBeVisibleAsync();
        Assert.Empty(errors);
        return page;
    }

    /// <summary>axe-core's WCAG 2.x A and AA rules (labels, names, contrast, landmarks, ...) find nothing on the page as it is.</summary>
    private static async Task AssertAccessibleAsync(IPage page)
    {
        var results = await page.RunAxe(new Deque.AxeCore.Commons.AxeRunOptions
        {
            RunOnly = new Deque.AxeCore.Commons.RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
        });
        Assert.Contains(results.Passes, rule => rule.Id == "label");
        Assert.True(results.Violations.Length == 0, string.Join("\n", results.Violations.Select(v =>
            $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => string.Join(" ", n.Target)))}")));
    }

    private static async Task SignInAsync(IPage page)
    {
        await Assertions.Expect(page.GetByLabel("Client id")).ToHaveValueAsync("demo");
        await page.GetByLabel("Client secret").FillAsync("demo-secret");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Locator("#connection-state")).ToHaveTextAsync("Live", new() { Timeout = Wait });
        await Assertions.Expect(page.Locator("#catalogue input").First).ToBeVisibleAsync(new() { Timeout = Wait });
    }

}
