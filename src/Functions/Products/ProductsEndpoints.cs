using Microsoft.AspNetCore.Http.HttpResults;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Products;

/// <summary>
/// The catalogue (products:read): list, read, and check availability without reserving anything;
/// its administration (admin): create, update, set the stock on hand.
/// </summary>
public static class ProductsEndpoints
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    public static IServiceCollection AddProducts(this IServiceCollection services)
    {
        services.AddSingleton<ProductStore>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ProductsJson.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapProducts(this IEndpointRouteBuilder app)
    {
        var catalogue = app.MapGroup("").WithTags("Products").RequireAuthorization(Scopes.ProductsRead)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        catalogue.MapGet("/products", ListProductsAsync)
            .WithName("ListProducts").WithSummary("Lists the catalogue, a page at a time.")
            .WithResponseExample(200, ProductExamples.Page);
        catalogue.MapGet("/products/{id}", GetProductAsync)
            .WithName("GetProduct").WithSummary("A product with its price, currency and stock on hand.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithResponseExample(200, ProductExamples.Product);
        catalogue.MapPost("/check-availability", CheckAvailabilityAsync)
            .WithName("CheckAvailability").WithSummary("Whether every item can be had now; reserves nothing.")
            .WithRequestExample(ProductExamples.AvailabilityRequest)
            .WithResponseExample(200, ProductExamples.AvailabilityResponse);

        var admin = app.MapGroup("/admin/products").WithTags(ApiTags.ProductAdministration).RequireAuthorization(Scopes.Admin)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        admin.MapPost("", CreateProductAsync)
            .WithName("CreateProduct").WithSummary("Adds a product to the catalogue; the server picks its id.")
            .WithRequestExample(ProductExamples.NewProduct)
            .WithResponseExample(201, ProductExamples.Product);
        admin.MapPut("/{id}", UpdateProductAsync)
            .WithName("UpdateProduct").WithSummary("Changes a product's name, description, price and currency.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestExample("""{"name": "Mechanical keyboard", "description": "Tenkeyless, red switches.", "price": 84.90, "currency": "EUR"}""")
            .WithResponseExample(200, ProductExamples.Product);
        admin.MapPut("/{id}/stock", SetStockAsync)
            .WithName("SetProductStock").WithSummary("Sets the stock on hand, as counted.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestExample("""{"stock": 25}""")
            .WithResponseExample(200, ProductExamples.Product);
        return app;
    }

    public static async Task<Results<Ok<ProductPage>, ValidationProblem>> ListProductsAsync(
        int? limit, string? cursor, ProductStore store, CancellationToken cancellationToken)
    {
        var validation = new RequestValidation();
        var after = Cursor.CheckPage(validation, limit, cursor, MaxPageSize);

        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var (items, lastKey) = await store.ListAsync(limit ?? DefaultPageSize, after, cancellationToken);
        return TypedResults.Ok(new ProductPage(items, lastKey is null ? null : Cursor.Encode(lastKey)));
    }

    public static async Task<Results<Ok<Product>, ProblemHttpResult>> GetProductAsync(
        string id, ProductStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } product
            ? TypedResults.Ok(product)
            : ProductNotFound(id);

    public static async Task<Results<Ok<AvailabilityResponse>, ValidationProblem>> CheckAvailabilityAsync(
        AvailabilityRequest request, ProductStore store, CancellationToken cancellationToken)
    {
        var validation = new RequestValidation();
        validation.RejectUnknown("", request.Unknown);
        Availability.Validate(validation, request.Items);
        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var items = request.Items!;
        var found = await store.GetManyAsync(items.Select(i => i.ProductId!), cancellationToken);
        return TypedResults.Ok(Availability.Evaluate(items, found));
    }

    public static async Task<Results<Created<Product>, ValidationProblem>> CreateProductAsync(
        NewProductRequest request, ProductStore store, TimeProvider clock, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var validation = new RequestValidation();
        validation.RejectUnknown("", request.Unknown);
        ProductRules.ValidateDetails(validation, request.Name, request.Description, request.Price, request.Currency);
        ProductRules.ValidateStock(validation, request.Stock);
        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var now = clock.GetUtcNow();
        var product = new Product(Guid.CreateVersion7(now).ToString(), request.Name!.Trim(), request.Description,
            request.Price!.Value, request.Currency!, request.Stock!.Value, now, now);
        if (!await store.CreateAsync(product, cancellationToken))
        {
            throw new InvalidOperationException($"Product id {product.ProductId} was generated twice.");
        }

        loggers.CreateLogger(typeof(ProductsEndpoints)).ProductCreated(product.ProductId, product.Stock);
        return TypedResults.Created($"/products/{Uri.EscapeDataString(product.ProductId)}", product);
    }

    public static async Task<Results<Ok<Product>, ValidationProblem, ProblemHttpResult>> UpdateProductAsync(
        string id, UpdateProductRequest request, ProductStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new RequestValidation();
        validation.RejectUnknown("", request.Unknown);
        ProductRules.ValidateDetails(validation, request.Name, request.Description, request.Price, request.Currency);
        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var updated = await store.UpdateDetailsAsync(id, request.Name!.Trim(), request.Description, request.Price!.Value,
            request.Currency!, clock.GetUtcNow(), cancellationToken);
        return updated is null ? ProductNotFound(id) : TypedResults.Ok(updated);
    }

    public static async Task<Results<Ok<Product>, ValidationProblem, ProblemHttpResult>> SetStockAsync(
        string id, SetStockRequest request, ProductStore store, TimeProvider clock, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var validation = new RequestValidation();
        validation.RejectUnknown("", request.Unknown);
        ProductRules.ValidateStock(validation, request.Stock);
        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var updated = await store.SetStockAsync(id, request.Stock!.Value, clock.GetUtcNow(), cancellationToken);
        if (updated is null)
        {
            return ProductNotFound(id);
        }

        loggers.CreateLogger(typeof(ProductsEndpoints)).StockSet(id, updated.Stock);
        return TypedResults.Ok(updated);
    }

    private static ProblemHttpResult ProductNotFound(string id) =>
        Problems.Problem(StatusCodes.Status404NotFound, "product-not-found", "No such product.", $"There is no product {id}.");
}
