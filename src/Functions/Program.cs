using OrderProcessing.Functions;

var builder = WebApplication.CreateBuilder(args);
builder.AddOrderProcessing();

var app = builder.Build();
app.MapOrderProcessing();
app.Run();

/// <summary>Entry point; public so that tests can host the app with WebApplicationFactory.</summary>
public partial class Program;
