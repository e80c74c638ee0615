using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Events;

namespace OrderProcessing.Tests.Platform;

/// <summary>
/// Property-based fuzzing of everything the app accepts from outside: every HTTP endpoint (enumerated from the app's
/// routing, so a new endpoint is covered without touching this test) and every /events source (enumerated from the
/// registered handlers). Whatever arrives, the answer is a 2xx, or a 4xx with ProblemDetails (RFC 6749 error JSON on
/// the OAuth endpoints), or a batch response; never a 500, and the app never logs an unhandled exception. The seed
/// is fixed, so a failure replays; FsCheck's message names it and the shrunk counterexample.
/// </summary>
public sealed class MalformedInputFuzzTests(CloudFixture cloud)
{
    private const ulong Seed = 20261125;
    private const int HttpCases = 300;
    private const int EventCases = 200;

    [Fact]
    public async Task Every_http_endpoint_answers_malformed_requests_with_2xx_or_4xx_problem_details_never_500()
    {
        var logs = new JsonLogCapture();
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("fuzz"), null,
            services => services.AddSingleton<ILoggerProvider>(logs));
        using var customer = await app.CreateClientAsync([.. Scopes.All]);
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (Method: method, Pattern: e.RoutePattern)))
            .ToList();
        Assert.Contains("POST /orders", endpoints.Select(e => $"{e.Method} {Path(e.Pattern, [.. e.Pattern.Parameters.Select(_ => "x")])}"));
        using var http = app.CreateClient();

        var cases = Gen.Elements(endpoints.ToArray()).SelectMany(endpoint =>
            Gen.Zip(Gen.Zip(PathValues(endpoint.Pattern.Parameters.Count), Query), Gen.Zip(Body, Gen.Zip(ContentTypes, Auth)))
                .Select(t => new HttpCase(endpoint.Method, Path(endpoint.Pattern, t.Item1.Item1), t.Item1.Item2, t.Item2.Item1, t.Item2.Item2.Item1,
                    t.Item2.Item2.Item2)));

        Check(cases, HttpCases, c =>
        {
            using var request = c.ToRequest(customer.AccessToken);
            using var response = http.SendAsync(request).GetAwaiter().GetResult();
            var status = (int)response.StatusCode;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            var oauth = c.Path.StartsWith("/oauth/", StringComparison.Ordinal);
            return status < 400 || (status < 500 && (mediaType == "application/problem+json" || (oauth && mediaType == "application/json")))
                || Refute(status, mediaType, response);
        });

        Assert.DoesNotContain(logs.Entries, UnhandledException);
    }

    [Fact]
    public async Task Every_events_source_reports_malformed_records_as_batch_failures_or_answers_4xx_never_500()
    {
        var logs = new JsonLogCapture();
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("fuzzev"), null,
            services => services.AddSingleton<ILoggerProvider>(logs));
        var routes = app.Services.GetRequiredService<EventRoutes>();
        Assert.NotEmpty(routes.Queues);
        Assert.NotEmpty(routes.Streams);
        Assert.NotEmpty(routes.WebSocketRoutes);
        var sources = routes.Queues.Keys.Select(SqsBatch)
            .Concat(routes.Streams.Keys.Select(StreamBatch))
            .Concat(routes.WebSocketRoutes.Keys.Select(WebSocketEvent))
            .ToArray();
        using var http = app.CreateClient();

        var events = Gen.Frequency(
            (8, Gen.OneOf(sources)),
            (1, Json.Select(j => j?.ToJsonString() ?? "null")),
            (1, Garbage));

        Check(events, EventCases, body =>
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = http.PostAsync(new Uri("/events", UriKind.Relative), content).GetAwaiter().GetResult();
            var status = (int)response.StatusCode;
            var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (status is >= 400 and < 500)
            {
                return response.Content.Headers.ContentType?.MediaType == "application/problem+json" || Refute(status, null, response);
            }

            using var answer = JsonDocument.Parse(text);
            return (status == 200 && (answer.RootElement.TryGetProperty("batchItemFailures", out var failures)
                ? failures.ValueKind == JsonValueKind.Array
                : answer.RootElement.TryGetProperty("statusCode", out _))) || Refute(status, null, response);
        });

        Assert.DoesNotContain(logs.Entries, UnhandledException);
    }

    /// <summary>Runs the property over <paramref name="count"/> cases from the fixed seed; throws with the seed and the shrunk case.</summary>
    private static void Check<T>(Gen<T> cases, int count, Func<T, bool> property) =>
        FsCheck.Check.One(
            Config.QuickThrowOnFailure.WithMaxTest(count).WithQuietOnSuccess(true).WithEndSize(60)
                .WithReplay(Microsoft.FSharp.Core.FSharpOption<Replay>.Some(new Replay(new Rnd(Seed, 0x9E3779B97F4A7C15), null))),
            Prop.ForAll(cases.ToArbitrary(), c => Task.Run(() => property(c)).GetAwaiter().GetResult()));

    /// <summary>Fails the case with what came back, so FsCheck's report shows it next to the request.</summary>
    private static bool Refute(int status, string? mediaType, HttpResponseMessage response) =>
        throw new InvalidOperationException(
            $"Answered {status} {mediaType ?? response.Content.Headers.ContentType?.MediaType}: {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");

    private static bool UnhandledException(JsonElement line) =>
        line.GetProperty("logger").GetString() is "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware"
            or "Microsoft.AspNetCore.Server.Kestrel" or "Microsoft.AspNetCore.Hosting.Diagnostics"
        && line.GetProperty("level").GetString() is "Error" or "Critical";

    public sealed record HttpCase(string Method, string Path, string Query, byte[]? Body, string? ContentType, string Auth)
    {
        public HttpRequestMessage ToRequest(string validToken)
        {
            var request = new HttpRequestMessage(new HttpMethod(Method), new Uri(Path + Query, UriKind.Relative));
            if (Body is not null)
            {
                request.Content = new ByteArrayContent(Body);
                if (ContentType is not null)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
                }
            }

            switch (Auth)
            {
                case "valid":
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", validToken);
                    break;
                case "garbage":
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer eyJhbGciOiJub25lIn0.e30.");
                    break;
                case "basic":
                    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("nobody:wrong"u8.ToArray()));
                    break;
            }

            return request;
        }

        public override string ToString() =>
            $"{Method} {Path}{Query} auth={Auth} content-type={ContentType} body={(Body is null ? "none" : Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 300)]))}";
    }

    private static readonly string[] Words =
    [
        "", "x", "demo", "0", "-1", "1", "99999999999999999999", "1e308", "NaN", "null", "true", "[]", "{}", "' OR 1=1 --", "../..",
        "%00", "ü💥", "PENDING_SHIPMENT", "SHIPPED", "00000000-0000-0000-0000-000000000000", new string('a', 3000), "\t\r\n",
    ];

    private static readonly Gen<string> Word = Gen.Frequency(
        (4, Gen.Elements(Words)),
        (2, ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "")),
        (1, Gen.Choose(0, int.MaxValue).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    private static Gen<string[]> PathValues(int count) => Gen.ArrayOf(Word, count);

    private static string Path(Microsoft.AspNetCore.Routing.Patterns.RoutePattern pattern, string[] values)
    {
        var path = pattern.RawText ?? "/";
        for (var i = 0; i < pattern.Parameters.Count; i++)
        {
            // A NUL in a path is refused by the test server's client before it reaches the app (Kestrel answers 400).
            var value = values[i].Replace("\0", "", StringComparison.Ordinal) is { Length: > 0 } segment ? Uri.EscapeDataString(segment) : "x";
            path = path.Replace("{" + pattern.Parameters[i].Name + "}", value, StringComparison.Ordinal);
        }

        return "/" + path.Trim('/');
    }

    private static readonly Gen<string> Query =
        Gen.ListOf(Gen.Zip(Gen.Elements("limit", "cursor", "status", "token", "scope", "x", ""), Word), 4)
            .Select(pairs => pairs.Count == 0 ? "" : "?" + string.Join('&', pairs.Select(p => $"{Uri.EscapeDataString(p.Item1)}={Uri.EscapeDataString(p.Item2)}")));

    private static readonly string[] Keys =
    [
        "items", "productId", "quantity", "shippingAddress", "name", "line1", "line2", "city", "region", "postalCode", "country",
        "customerReference", "scopes", "rateLimit", "requests", "windowSeconds", "refreshTokens", "price", "currency", "stock",
        "description", "status", "shipmentId", "orderId", "deliveryStatus", "occurredAt", "eventId", "limit",
    ];

    /// <summary>Random JSON: the app's own field names with values of every type, nested, sometimes huge.</summary>
    private static readonly Gen<JsonNode?> Json = Gen.Sized(JsonOfSize);

    private static Gen<JsonNode?> JsonOfSize(int size)
    {
        var scalar = Gen.OneOf(
            Word.Select(w => (JsonNode?)JsonValue.Create(w)),
            Gen.Choose(-5, 1_000_000).Select(n => (JsonNode?)JsonValue.Create(n)),
            Gen.Elements<JsonNode?>(JsonValue.Create(1e308), JsonValue.Create(-0.5m), JsonValue.Create(long.MaxValue), JsonValue.Create(true), null));
        if (size <= 1)
        {
            return scalar;
        }

        var child = Gen.Sized(s => JsonOfSize(s / 3)).Resize(size);
        return Gen.Frequency(
            (3, scalar),
            (3, Gen.ListOf(Gen.Zip(Gen.Elements(Keys), child), 6).Select(pairs =>
            {
                var obj = new JsonObject();
                foreach (var (key, value) in pairs)
                {
                    obj[key] = value?.DeepClone();
                }

                return (JsonNode?)obj;
            })),
            (1, Gen.ListOf(child, 4).Select(items => (JsonNode?)new JsonArray([.. items.Select(i => i?.DeepClone())]))));
    }

    private static readonly Gen<string> Garbage = Gen.Elements(
        "", "{", "[1,2", "{\"items\": [{\"productId\": \"x\", \"quantity\": 1}", "\u0000\u0001", "<xml/>", "grant_type=client_credentials&scope=%ZZ",
        "{\"Records\": 5}", "{\"Records\": [1, \"a\", null]}", "{\"requestContext\": 1}", "{\"requestContext\": {\"routeKey\": 5}}", new string('[', 5000),
        "{\"a\":" + new string('9', 100_000) + "}");

    private static readonly Gen<byte[]?> Body = Gen.Frequency(
        (1, Gen.Constant<byte[]?>(null)),
        (5, Json.Select(j => (byte[]?)Encoding.UTF8.GetBytes(j?.ToJsonString() ?? "null"))),
        (2, Garbage.Select(g => (byte[]?)Encoding.UTF8.GetBytes(g))),
        (1, Gen.Elements<byte[]?>([0xff, 0xfe, 0x00], [0xc3, 0x28, 0x7b], Encoding.UTF8.GetBytes(new string('x', 200_000)))));

    private static readonly Gen<string?> ContentTypes = Gen.Elements<string?>(
        "application/json", "application/json", "application/json; charset=utf-8", "application/json; charset=utf-7", "text/plain",
        "application/x-www-form-urlencoded", "multipart/form-data", "application/xml", "][", null);

    private static readonly Gen<string> Auth = Gen.Elements("valid", "valid", "none", "garbage", "basic");

    // Events, in the shapes Lambda delivers them, with every field at risk of being wrong or missing.

    private static Gen<string> SqsBatch(string queue) =>
        Gen.ListOf(SqsRecord(queue), 4).Select(records => new JsonObject { ["Records"] = new JsonArray([.. records.Select(r => r?.DeepClone())]) }.ToJsonString());

    private static Gen<JsonNode?> SqsRecord(string queue) =>
        Gen.Zip(Gen.Zip(Word, MessageBody), Gen.Zip(Attributes, MessageAttributes)).Select(t => (JsonNode?)new JsonObject
        {
            ["messageId"] = t.Item1.Item1.Length == 0 ? null : t.Item1.Item1,
            ["body"] = t.Item1.Item2?.DeepClone(),
            ["attributes"] = t.Item2.Item1?.DeepClone(),
            ["messageAttributes"] = t.Item2.Item2?.DeepClone(),
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = $"arn:aws:sqs:eu-west-1:000000000000:{queue}",
        });

    private static readonly Gen<JsonNode?> MessageBody = Gen.OneOf(
        Json.Select(j => (JsonNode?)JsonValue.Create(j?.ToJsonString() ?? "null")),
        Garbage.Select(g => (JsonNode?)JsonValue.Create(g)),
        Gen.Zip(Gen.Elements("OrderCreated", "OrderCancelled", "OrderStatusChanged", "Unknown", ""), Json).Select(t =>
        {
            var body = t.Item2 as JsonObject ?? new JsonObject();
            body["type"] = t.Item1;
            body["orderId"] ??= Guid.NewGuid().ToString();
            return (JsonNode?)JsonValue.Create(body.ToJsonString());
        }),
        Gen.Zip(Gen.Elements("SHIPPED", "DELIVERED", "IN_TRANSIT", "LOST", ""), Word).Select(t => (JsonNode?)JsonValue.Create(new JsonObject
        {
            ["orderId"] = Guid.NewGuid().ToString(),
            ["shipmentId"] = t.Item2,
            ["deliveryStatus"] = t.Item1,
            ["status"] = t.Item1,
            ["occurredAt"] = t.Item2,
            ["eventId"] = t.Item2,
        }.ToJsonString())),
        Gen.Constant<JsonNode?>(null),
        Gen.Constant<JsonNode?>(JsonValue.Create(5)));

    private static readonly Gen<JsonNode?> Attributes = Gen.OneOf(
        Gen.Constant<JsonNode?>(null),
        Gen.Zip(Word, Word).Select(t => (JsonNode?)new JsonObject
        {
            ["ApproximateReceiveCount"] = t.Item1,
            ["MessageGroupId"] = t.Item2,
            ["AWSTraceHeader"] = "Root=" + t.Item1 + ";Parent=" + t.Item2,
        }),
        Json);

    private static readonly Gen<JsonNode?> MessageAttributes = Gen.OneOf(
        Gen.Constant<JsonNode?>(null),
        Gen.Zip(Word, Word).Select(t => (JsonNode?)new JsonObject
        {
            ["correlation_id"] = new JsonObject { ["stringValue"] = t.Item1, ["dataType"] = "String" },
            ["traceparent"] = new JsonObject { ["stringValue"] = "00-" + t.Item2 + "-01", ["dataType"] = "String" },
        }),
        Json);

    private static Gen<string> StreamBatch(string table) =>
        Gen.ListOf(StreamRecord(table), 4).Select(records => new JsonObject { ["Records"] = new JsonArray([.. records.Select(r => r?.DeepClone())]) }.ToJsonString());

    private static Gen<JsonNode?> StreamRecord(string table) =>
        Gen.Zip(Gen.Zip(Gen.Elements("INSERT", "MODIFY", "REMOVE", "", "DROP"), Word), Gen.Zip(Image, Image)).Select(t => (JsonNode?)new JsonObject
        {
            ["eventID"] = t.Item1.Item2,
            ["eventName"] = t.Item1.Item1,
            ["eventSource"] = "aws:dynamodb",
            ["eventSourceARN"] = $"arn:aws:dynamodb:eu-west-1:000000000000:table/{table}/stream/2026-11-25T00:00:00.000",
            ["dynamodb"] = new JsonObject
            {
                ["SequenceNumber"] = t.Item1.Item2.Length == 0 ? null : t.Item1.Item2,
                ["NewImage"] = t.Item2.Item1?.DeepClone(),
                ["OldImage"] = t.Item2.Item2?.DeepClone(),
                ["StreamViewType"] = "NEW_AND_OLD_IMAGES",
            },
        });

    /// <summary>Order images with attributes of the right and of wrong types, or missing.</summary>
    private static readonly Gen<JsonNode?> Image = Gen.OneOf(
        Gen.Constant<JsonNode?>(null),
        Json,
        Gen.ListOf(Gen.Zip(
            Gen.Elements("orderId", "owner", "status", "version", "createdAt", "updatedAt", "items", "total", "currency", "shippingAddress", "history",
                "correlationId", "traceparent"),
            Gen.Zip(Gen.Elements("S", "N", "B", "M", "L", "BOOL", "NULL", "SS"), Word)), 12).Select(pairs =>
        {
            var image = new JsonObject();
            foreach (var (name, (type, value)) in pairs)
            {
                image[name] = new JsonObject { [type] = type is "M" ? new JsonObject() : type is "L" or "SS" ? new JsonArray() : value };
            }

            return (JsonNode?)image;
        }));

    private static Gen<string> WebSocketEvent(string route) =>
        Gen.Zip(Gen.Zip(Word, MessageBody), Gen.Zip(Word, Gen.Elements(0, 1, 2))).Select(t =>
        {
            var context = new JsonObject
            {
                ["routeKey"] = route,
                ["eventType"] = route switch { "$connect" => "CONNECT", "$disconnect" => "DISCONNECT", _ => "MESSAGE" },
                ["connectionId"] = t.Item2.Item2 == 0 ? null : t.Item1.Item1,
                ["requestId"] = "fuzz",
            };
            var body = t.Item1.Item2?.GetValue<object>() is string text && t.Item2.Item2 == 2
                ? JsonValue.Create(new JsonObject { ["action"] = route, ["orderId"] = text }.ToJsonString())
                : t.Item1.Item2?.DeepClone();
            return new JsonObject
            {
                ["requestContext"] = context,
                ["body"] = body,
                ["queryStringParameters"] = t.Item2.Item2 == 1 ? null : new JsonObject { ["token"] = t.Item2.Item1 },
                ["headers"] = new JsonObject { ["Sec-WebSocket-Protocol"] = "bearer, " + t.Item2.Item1 },
            }.ToJsonString();
        });
}
