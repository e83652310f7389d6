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
    private int _outboxClaims;

    /// <summary>Runs before each batch of queued creates is applied: throw to fail it, await to hold it.</summary>
    public Func<IReadOnlyList<QueuedCreate>, Task> BeforeApplyCreates { get; set; } = _ => Task.CompletedTask;

    /// <summary>Runs before each flush of login counts is applied: await to hold it.</summary>
    public Func<IReadOnlyDictionary<long, long>, Task> BeforeApplyLogins { get; set; } = _ => Task.CompletedTask;

    /// <summary>Runs before each call of the outbox relay to the database (horizon, users, claim): throw to fail it.</summary>
    public Func<Task> BeforeOutbox { get; set; } = () => Task.CompletedTask;

    /// <summary>Runs after each claim of outbox rows, with the rows claimed: await to hold the relay with its claim.</summary>
    public Func<IReadOnlyList<OutboxEntry>, Task> AfterClaimOutbox { get; set; } = _ => Task.CompletedTask;

    /// <summary>How many claims of outbox rows the relay made.</summary>
    public int OutboxClaims => Volatile.Read(ref _outboxClaims);

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

        public async Task<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(string claim, long upTo, int limit, TimeSpan duration, CancellationToken cancellationToken)
        {
            await script.BeforeOutbox();
            var rows = await inner.ClaimOutboxAsync(claim, upTo, limit, duration, cancellationToken);
            Interlocked.Increment(ref script._outboxClaims);
            await script.AfterClaimOutbox(rows);
            return rows;
        }

        public Task<int> ForgetOutboxAsync(string claim, CancellationToken cancellationToken) => inner.ForgetOutboxAsync(claim, cancellationToken);

        public Task ReleaseOutboxAsync(string claim, CancellationToken cancellationToken) => inner.ReleaseOutboxAsync(claim, cancellationToken);

        public async Task<long> OutboxHorizonAsync(CancellationToken cancellationToken)
        {
            await script.BeforeOutbox();
            return await inner.OutboxHorizonAsync(cancellationToken);
        }

        public async Task<IReadOnlyList<long>> OutboxUsersAsync(CancellationToken cancellationToken)
        {
            await script.BeforeOutbox();
            return await inner.OutboxUsersAsync(cancellationToken);
        }
    }
}
