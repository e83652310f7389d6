using CacheFlow.Api.Data;
using CacheFlow.Api.Users;
using Microsoft.Extensions.DependencyInjection;

namespace CacheFlow.Api.Tests;

/// <summary>
/// Wraps the API's real repository to count what reaches the database and to inject faults or hold the flusher at a
/// gate (fault injection through a wrapper).
/// </summary>
public sealed class ScriptedRepository
{
    private int _loginUsersUpdated;
    private int _createsApplied;
    private int _counts;
    private int _pages;

    /// <summary>Runs before each batch of queued creates is applied: throw to fail it, await to hold it.</summary>
    public Func<IReadOnlyList<QueuedCreate>, Task> BeforeApplyCreates { get; set; } = _ => Task.CompletedTask;

    /// <summary>Runs before each flush of login counts is applied: await to hold it.</summary>
    public Func<IReadOnlyDictionary<long, long>, Task> BeforeApplyLogins { get; set; } = _ => Task.CompletedTask;

    /// <summary>Users whose login counts the applied login flushes updated (each user once per flush).</summary>
    public int LoginUsersUpdated => Volatile.Read(ref _loginUsersUpdated);

    /// <summary>Queued creates whose batches were applied (each counted once its batch returned).</summary>
    public int CreatesApplied => Volatile.Read(ref _createsApplied);

    /// <summary>How many times the users were counted.</summary>
    public int Counts => Volatile.Read(ref _counts);

    /// <summary>How many list pages were read from the database.</summary>
    public int Pages => Volatile.Read(ref _pages);

    public void Decorate(IServiceCollection services)
    {
        var real = services.Single(d => d.ServiceType == typeof(IUserRepository));
        services.Remove(real);
        services.AddSingleton<IUserRepository>(sp => new Wrapper(this, (IUserRepository)real.ImplementationFactory!(sp)));
    }

    private sealed class Wrapper(ScriptedRepository script, IUserRepository inner) : IUserRepository
    {
        public string Description => inner.Description;

        public Task InitializeAsync(int seedUsers, CancellationToken cancellationToken) => inner.InitializeAsync(seedUsers, cancellationToken);

        public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);

        public Task<User?> GetAsync(long id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task<UsersPage> ListAsync(int page, int limit, CancellationToken cancellationToken) => inner.ListAsync(page, limit, cancellationToken);

        public Task<long> CountAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref script._counts);
            return inner.CountAsync(cancellationToken);
        }

        public Task<IReadOnlyList<User>> PageAsync(int page, int limit, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref script._pages);
            return inner.PageAsync(page, limit, cancellationToken);
        }

        public Task<string?> FindClashAsync(string username, string email, CancellationToken cancellationToken) => inner.FindClashAsync(username, email, cancellationToken);

        public Task<User> CreateAsync(string username, string email, bool isActive, CancellationToken cancellationToken) => inner.CreateAsync(username, email, isActive, cancellationToken);

        public Task<User?> UpdateAsync(long id, string? username, string? email, bool? isActive, CancellationToken cancellationToken) =>
            inner.UpdateAsync(id, username, email, isActive, cancellationToken);

        public Task<bool> DeleteAsync(long id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public async Task<IReadOnlyList<QueuedCreateOutcome>> ApplyCreatesAsync(IReadOnlyList<QueuedCreate> creates, CancellationToken cancellationToken)
        {
            await script.BeforeApplyCreates(creates);
            var outcomes = await inner.ApplyCreatesAsync(creates, cancellationToken);
            Interlocked.Add(ref script._createsApplied, creates.Count);
            return outcomes;
        }

        public async Task<bool> ApplyLoginsAsync(string batchId, IReadOnlyDictionary<long, long> increments, CancellationToken cancellationToken)
        {
            await script.BeforeApplyLogins(increments);
            var applied = await inner.ApplyLoginsAsync(batchId, increments, cancellationToken);
            if (applied)
                Interlocked.Add(ref script._loginUsersUpdated, increments.Count);
            return applied;
        }

        public Task<IReadOnlyList<User>> GetManyAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) => inner.GetManyAsync(ids, cancellationToken);

        public Task<IReadOnlyList<User>> TopByLoginsAsync(int limit, CancellationToken cancellationToken) => inner.TopByLoginsAsync(limit, cancellationToken);

        public Task<IReadOnlyList<OutboxEntry>> OutboxAsync(long upTo, int limit, CancellationToken cancellationToken) => inner.OutboxAsync(upTo, limit, cancellationToken);

        public Task<long> OutboxHorizonAsync(CancellationToken cancellationToken) => inner.OutboxHorizonAsync(cancellationToken);

        public Task ForgetOutboxAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken) => inner.ForgetOutboxAsync(ids, cancellationToken);
    }
}
