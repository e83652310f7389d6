var builder = WebApplication.CreateBuilder(args);
builder.AddCacheFlowApi();

var app = builder.Build();
app.MapCacheFlowApi();
app.Run();

/// <summary>The entry point, visible to the API tests' <c>WebApplicationFactory</c>.</summary>
public partial class Program;
