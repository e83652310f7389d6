// --demo-load starts a steady demo load with the API (a switch, so it is turned into configuration here).
var builder = WebApplication.CreateBuilder([.. args.Where(a => a != "--demo-load")]);
if (args.Contains("--demo-load"))
    builder.Configuration["DemoLoad:OnStartup"] = "true";
builder.AddCacheFlowApi();

var app = builder.Build();
app.MapCacheFlowApi();
app.Run();

/// <summary>The entry point, visible to the API tests' <c>WebApplicationFactory</c>.</summary>
public partial class Program;
