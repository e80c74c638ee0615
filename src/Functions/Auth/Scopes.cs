namespace OrderProcessing.Functions.Auth;

/// <summary>
/// OAuth2 scopes. Each is also the name of the authorization policy that requires it, so an endpoint
/// group says <c>.RequireAuthorization(Scopes.OrdersWrite)</c>.
/// </summary>
public static class Scopes
{
    public const string ProductsRead = "products:read";
    public const string OrdersRead = "orders:read";
    public const string OrdersWrite = "orders:write";
    public const string NotificationsRead = "notifications:read";
    public const string Admin = "admin";

    /// <summary>What a customer app may be given.</summary>
    public static readonly IReadOnlyList<string> Customer = [ProductsRead, OrdersRead, OrdersWrite, NotificationsRead];

    public static readonly IReadOnlyList<string> All = [.. Customer, Admin];
}
