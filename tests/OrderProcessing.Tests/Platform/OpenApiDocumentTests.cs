using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrderProcessing.Tests.Platform;

/// <summary>
/// The served OpenAPI document: complete enough for a generated client, and the same as the committed
/// docs/openapi.json. After a deliberate change, refresh the committed copy with <c>scripts/openapi</c>.
/// </summary>
public sealed class OpenApiDocumentTests(AppFixture stack) : IClassFixture<AppFixture>
{
    /// <summary>The committed document names the local host's default address as its server.</summary>
    private const string CommittedServer = "http://localhost:5000";

    private static readonly string CommittedPath = Path.Combine(Repository.Root, "docs", "openapi.json");

    private static readonly string[] CommonProtectedStatuses = ["401", "429", "503"];

    private static readonly string[] RateLimitHeaders = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"];

    private static readonly string[] RetryStatuses = ["429", "503"];

    private static readonly string[] ReferencePageSettings =
    [
        "\"agent\":{\"disabled\":true}", "\"mcp\":{\"disabled\":true}", "\"showDeveloperTools\":\"never\"", "\"telemetry\":false",
        "\"_integration\":null", "\"url\":\"openapi/v1.json\"",
    ];

    [Fact]
    public async Task The_OpenAPI_document_describes_every_endpoint_with_its_responses_and_examples()
    {
        using var document = JsonDocument.Parse(await ServedAsync());
        var paths = document.RootElement.GetProperty("paths");
        var expected = new (string Path, string Method, string[] Statuses)[]
        {
            ("/products", "get", ["200", "400"]),
            ("/products/{id}", "get", ["200", "404"]),
            ("/check-availability", "post", ["200", "400"]),
            ("/admin/products", "post", ["201", "400"]),
            ("/admin/products/{id}", "put", ["200", "400", "404"]),
            ("/admin/products/{id}/stock", "put", ["200", "400", "404"]),
            ("/orders", "post", ["201", "400", "409", "422"]),
            ("/orders", "get", ["200", "400"]),
            ("/orders/{id}", "get", ["200", "404"]),
            ("/orders/{id}/history", "get", ["200", "404"]),
            ("/orders/{id}/cancel", "post", ["200", "404", "409", "422"]),
        };
        foreach (var (path, method, statuses) in expected)
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            var responses = operation.GetProperty("responses");
            Assert.All(statuses, s => Assert.True(responses.TryGetProperty(s, out _), $"{method} {path} documents no {s}"));
            var success = responses.GetProperty(statuses[0]).GetProperty("content").EnumerateObject().First().Value;
            Assert.True(success.TryGetProperty("example", out _), $"{method} {path} has no example for {statuses[0]}");
        }

        Assert.False(paths.TryGetProperty("/events", out _));
    }

    [Fact]
    public async Task Every_protected_operation_names_its_scopes_and_documents_401_403_429_503_with_rate_limit_headers()
    {
        using var document = JsonDocument.Parse(await ServedAsync());
        var root = document.RootElement;
        var flow = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("oauth2").GetProperty("flows")
            .GetProperty("clientCredentials");
        Assert.Equal("http://localhost/oauth/token", flow.GetProperty("tokenUrl").GetString());
        Assert.Equal(["products:read", "orders:read", "orders:write", "notifications:read", "admin"],
            flow.GetProperty("scopes").EnumerateObject().Select(s => s.Name));

        var protectedCount = 0;
        foreach (var (name, operation) in Operations(root))
        {
            Assert.True(operation.TryGetProperty("summary", out var summary) && summary.GetString()!.Length > 0, $"{name} has no summary");
            Assert.Single(operation.GetProperty("tags").EnumerateArray());
            var security = operation.TryGetProperty("security", out var s) ? s.EnumerateArray().ToList() : [];
            if (security.Count == 0)
            {
                continue;
            }

            protectedCount++;
            var scopes = security.Single().GetProperty("oauth2").EnumerateArray().Select(x => x.GetString()).ToList();
            Assert.NotEmpty(scopes);
            var responses = operation.GetProperty("responses");
            foreach (var status in CommonProtectedStatuses.Append("403"))
            {
                Assert.True(responses.TryGetProperty(status, out var response), $"{name} documents no {status}");
                Assert.True(response.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{name} {status} is no problem");
            }

            foreach (var status in RetryStatuses)
            {
                Assert.True(responses.GetProperty(status).GetProperty("headers").TryGetProperty("Retry-After", out _), $"{name} {status}: Retry-After");
            }

            foreach (var response in responses.EnumerateObject().Where(r => r.Name != "401"))
            {
                var headers = response.Value.GetProperty("headers");
                Assert.All(RateLimitHeaders,
                    h => Assert.True(headers.TryGetProperty(h, out _), $"{name} {response.Name} lacks {h}"));
            }
        }

        Assert.True(protectedCount >= 15, $"only {protectedCount} protected operations");
        var createOrder = root.GetProperty("paths").GetProperty("/orders").GetProperty("post");
        Assert.Equal(["orders:write"], createOrder.GetProperty("security")[0].GetProperty("oauth2").EnumerateArray().Select(x => x.GetString()));
        var key = createOrder.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "Idempotency-Key");
        Assert.Equal("header", key.GetProperty("in").GetString());
        Assert.True(createOrder.GetProperty("responses").GetProperty("201").GetProperty("headers").TryGetProperty("Idempotent-Replayed", out _));
        Assert.True(createOrder.GetProperty("responses").GetProperty("409").GetProperty("headers").TryGetProperty("Idempotent-Replayed", out _));
        var token = root.GetProperty("paths").GetProperty("/oauth/token").GetProperty("post");
        Assert.False(token.TryGetProperty("security", out var tokenSecurity) && tokenSecurity.GetArrayLength() > 0);
        Assert.True(token.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/x-www-form-urlencoded", out _));
    }

    [Fact]
    public async Task Tags_are_one_per_capability_in_a_customer_apps_order_and_the_server_url_has_no_trailing_slash()
    {
        using var document = JsonDocument.Parse(await ServedAsync());
        var root = document.RootElement;

        Assert.Equal(["OAuth", "Products", "Orders", "Product administration", "Client administration", "Dead letters", "Carrier webhook"],
            root.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        var used = Operations(root).SelectMany(o => o.Operation.GetProperty("tags").EnumerateArray().Select(t => t.GetString())).ToHashSet();
        Assert.Equal(used.Order(), root.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("name").GetString()).Order());
        Assert.Equal("http://localhost", root.GetProperty("servers")[0].GetProperty("url").GetString());
    }

    [Fact]
    public async Task The_reference_page_shows_our_api_without_the_vendors_ai_chat_toolbar_or_telemetry()
    {
        await using var app = await AppFixture.CreateAsync(stack.Cloud, stack.Stack, new Dictionary<string, string?>
        {
            [OrderProcessing.Functions.Platform.ApiDocs.ReferencePageSetting] = "true",
        });
        using var client = app.CreateClient();

        using var response = await client.GetAsync(new Uri("/scalar/", UriKind.Relative));
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<title>OrderProcessing API reference</title>", page, StringComparison.Ordinal);
        foreach (var setting in ReferencePageSettings)
        {
            Assert.Contains(setting, page, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Fails when the served document differs from docs/openapi.json. With OPENAPI_REFRESH=1 (scripts/openapi) it writes
    /// the served document there instead, so a deliberate change is one command and a reviewed diff.
    /// </summary>
    [Fact]
    public async Task The_served_document_is_the_committed_docs_openapi_json()
    {
        var served = Normalize(await ServedAsync());

        if (Environment.GetEnvironmentVariable("OPENAPI_REFRESH") == "1")
        {
            await File.WriteAllTextAsync(CommittedPath, served);
        }

        Assert.True(File.Exists(CommittedPath), $"{CommittedPath} is missing; write it with scripts/openapi.");
        var committed = (await File.ReadAllTextAsync(CommittedPath)).ReplaceLineEndings("\n");
        Assert.True(committed == served,
            "The served OpenAPI document differs from docs/openapi.json. If the change is intended, run scripts/openapi and commit the diff.\n"
            + FirstDifference(committed, served));
    }

    private async Task<string> ServedAsync()
    {
        using var client = stack.CreateClient();
        using var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The served text with the test server's origin replaced by the local host's, indented, ending in a newline.</summary>
    private static string Normalize(string served)
    {
        var node = JsonNode.Parse(served.Replace("\"http://localhost/", $"\"{CommittedServer}/", StringComparison.Ordinal)
            .Replace("\"http://localhost\"", $"\"{CommittedServer}\"", StringComparison.Ordinal))!;
        return node.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }).ReplaceLineEndings("\n") + "\n";
    }

    private static string FirstDifference(string committed, string served)
    {
        var a = committed.Split('\n');
        var b = served.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var left = i < a.Length ? a[i] : "<end>";
            var right = i < b.Length ? b[i] : "<end>";
            if (left != right)
            {
                return $"line {i + 1}:\n  committed: {left.Trim()}\n  served:    {right.Trim()}";
            }
        }

        return "";
    }

    private static IEnumerable<(string Name, JsonElement Operation)> Operations(JsonElement root) =>
        root.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "delete" or "patch")
                .Select(o => ($"{o.Name.ToUpperInvariant()} {p.Name}", o.Value)));
}
