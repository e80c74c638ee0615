using System.Net;

namespace OrderProcessing.Tests.Local;

/// <summary>The local host serves the reference web client (web/) at /app/, without a token.</summary>
public sealed class WebClientTests(CloudFixture cloud) : IAsyncLifetime
{
    private readonly SystemFixture _system = new(cloud);

    public ValueTask InitializeAsync() => _system.InitializeAsync();

    public ValueTask DisposeAsync() => _system.DisposeAsync();

    [Fact]
    public async Task The_page_and_its_script_are_served_at_app_and_app_redirects_there()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _system.Api };

        using var redirect = await http.GetAsync(new Uri("/app", UriKind.Relative));
        using var page = await http.GetAsync(new Uri("/app/", UriKind.Relative));
        using var script = await http.GetAsync(new Uri("/app/app.js", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/app/", redirect.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<h1>Order tracking</h1>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("/oauth/token", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
