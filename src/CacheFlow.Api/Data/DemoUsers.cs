namespace CacheFlow.Api.Data;

/// <summary>The demo users seeded into an empty database: fixed (seeded random), with login counts spread like real ones.</summary>
internal static class DemoUsers
{
    public static IEnumerable<object> Create(int count, DateTime now)
    {
        var random = new Random(42);
        for (var i = 1; i <= count; i++)
        {
            yield return new
            {
                Username = $"user{i:D5}",
                Email = $"user{i:D5}@example.com",
                IsActive = i % 10 != 0,
                // A heavy tail: most users log in rarely, a few very often.
                LoginCount = (long)(1000 / Math.Pow(1 + random.NextDouble() * 99, 1.2)),
                CreatedAt = now.AddMinutes(-random.Next(1, 525_600)),
            };
        }
    }
}
