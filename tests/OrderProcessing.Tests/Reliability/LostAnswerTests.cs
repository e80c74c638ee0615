using System.Net;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local.Cloud;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Reliability;

/// <summary>
/// A write that DynamoDB applied but whose answer never came back (a timeout, a dropped connection) is retried by
/// the SDK. The retry of an order's transaction must find the order placed, not refuse it.
/// </summary>
public sealed class LostAnswerTests(CloudFixture cloud)
{
    /// <summary>
    /// Figure: the order transaction applied, its answer dropped, the SDK's retry → 1 × 201, 1 order, the stock taken
    /// once (5 → 4), 2 TransactWriteItems sent; not a 409 or a 500.
    /// </summary>
    [Fact]
    public async Task An_order_whose_transaction_answer_is_lost_is_answered_201_and_written_once()
    {
        var losing = new LoseOneAnswer("DynamoDB_20120810.TransactWriteItems");
        var stack = await cloud.ProvisionAsync("lost-answer");
        await using var app = await AppFixture.CreateAsync(cloud, stack, services: services =>
        {
            services.RemoveAll<IAmazonDynamoDB>();
            services.AddSingleton<IAmazonDynamoDB>(_ => new AmazonDynamoDBClient(new BasicAWSCredentials(LocalCloud.AccessKeyId, LocalCloud.SecretAccessKey),
                new AmazonDynamoDBConfig
                {
                    ServiceURL = cloud.Cloud.DynamoDbEndpoint.ToString(),
                    AuthenticationRegion = LocalCloud.Region,
                    MaxErrorRetry = AwsClients.MaxErrorRetry,
                    HttpClientFactory = losing,
                }));
        });
        using var dynamo = cloud.CreateDynamoDbClient();
        var lamp = TestData.Product(stock: 5, name: "Lamp");
        await dynamo.PutItemAsync(stack.Tables["ProductsTable"], Functions.Products.ProductStore.ToItem(lamp));
        var product = lamp.ProductId;
        using var customer = await app.CreateClientAsync(Scopes.Customer);

        losing.Armed = true;
        using var response = await PostAsync(customer.Http, "/orders", OrderBody([(product, 1)]));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, losing.Calls);
        var order = await ReadAsync<Order>(response);
        var stored = (await dynamo.ScanAsync(new Amazon.DynamoDBv2.Model.ScanRequest { TableName = stack.Tables["OrdersTable"], ConsistentRead = true }))
            .Items.Select(OrderStore.FromItem).Where(o => o.Owner == customer.ClientId).ToList();
        Assert.Equal(order.OrderId, Assert.Single(stored).OrderId);
        var stock = (await dynamo.GetItemAsync(stack.Tables["ProductsTable"], Functions.Products.ProductStore.Key(product))).Item;
        Assert.Equal(4, Functions.Platform.DynamoItem.WholeNumber(stock, "stock"));
    }

    /// <summary>Once armed, lets the next call of one operation reach DynamoDB and then drops its answer, as a broken connection would.</summary>
    private sealed class LoseOneAnswer(string target) : HttpClientFactory
    {
        private readonly string _target = target;
        private int _calls;

        public bool Armed { get; set; }

        /// <summary>Calls of the operation since it was armed.</summary>
        public int Calls => _calls;

        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Handler(this) { InnerHandler = new SocketsHttpHandler() });

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        private sealed class Handler(LoseOneAnswer owner) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var isTarget = request.Headers.TryGetValues("X-Amz-Target", out var values) && values.Contains(owner._target);
                if (!owner.Armed || !isTarget)
                {
                    return await base.SendAsync(request, cancellationToken);
                }

                if (Interlocked.Increment(ref owner._calls) > 1)
                {
                    return await base.SendAsync(request, cancellationToken);
                }

                (await base.SendAsync(request, cancellationToken)).Dispose();
                throw new HttpRequestException("The response ended prematurely.", new IOException("Connection reset by peer"));
            }
        }
    }
}
