using System.Globalization;
using Gatehouse.Configuration;
using Gatehouse.State;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace Gatehouse.Proxy.State;

/// <summary>
/// <c>state.backend: redis</c>: the state replicas share, on a Redis server through StackExchange.Redis. The replay
/// cache is <c>SET key 1 NX PX ttl</c> (one atomic command: the first replica to record a proof wins); cached values
/// are <c>SET key value PX ttl</c> / <c>GET key</c>. Every key is under <c>state.redis.key_prefix</c>.
/// </summary>
/// <remarks>
/// The multiplexer is created with <c>AbortOnConnectFail = false</c>, so Gatehouse starts while Redis is down and
/// reconnects by itself (StackExchange.Redis retries in the background); commands fail fast while disconnected
/// (<see cref="BacklogPolicy.FailFast"/>) and are bounded by <c>connect_timeout</c> otherwise. Every failure is a
/// value: <see cref="StateAddResult.Unavailable"/> (DPoP answers 503) or a cache miss.
/// </remarks>
public sealed partial class RedisStateStore : IStateStore, IAsyncDisposable
{
    private static readonly RedisValue s_one = "1";
    private readonly ConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly ILogger _logger;
    private long _errors;

    private RedisStateStore(ConnectionMultiplexer connection, string prefix, ILogger logger)
    {
        _connection = connection;
        _database = connection.GetDatabase().WithKeyPrefix(prefix);
        _logger = logger;
        _connection.ConnectionFailed += (_, e) => LogConnectionFailed(_logger, e.EndPoint?.ToString() ?? "-", e.FailureType.ToString());
        _connection.ConnectionRestored += (_, e) => LogConnectionRestored(_logger, e.EndPoint?.ToString() ?? "-");
    }

    /// <inheritdoc/>
    public string Backend => "redis";

    /// <inheritdoc/>
    public bool IsHealthy => _connection.IsConnected;

    /// <summary>Commands that failed (connection, timeout, server error) since start.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>
    /// Connects to <paramref name="config"/>'s endpoint. Does not fail when Redis is down: the store then reports
    /// unhealthy and every command fails fast until the background reconnect succeeds.
    /// </summary>
    public static RedisStateStore Connect(RedisStateConfig config, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var timeout = (int)Math.Clamp(config.ConnectTimeout.TotalMilliseconds, 10, 60_000);
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = timeout,
            SyncTimeout = timeout,
            AsyncTimeout = timeout,
            ConnectRetry = 1,
            // Note: a short, bounded reconnect interval: DPoP requests are refused while Redis is away, so
            // recovery time is what users see. Reconnect attempts are cheap (one TCP connect).
            ReconnectRetryPolicy = new LinearRetry(500),
            KeepAlive = 5,
            BacklogPolicy = BacklogPolicy.FailFast,
            ClientName = "gatehouse",
        };
        options.EndPoints.Add(config.Endpoint);
        var logger = loggerFactory.CreateLogger("Gatehouse.Proxy.State");
        // Note: the synchronous connect runs once, while the host starts (bounded by connect_timeout).
        var connection = ConnectionMultiplexer.Connect(options);
        var store = new RedisStateStore(connection, config.KeyPrefix, logger);
        LogConnecting(logger, config.Endpoint, connection.IsConnected);
        return store;
    }

    /// <inheritdoc/>
    public async ValueTask<StateAddResult> TryAddAsync(string key, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            return await _database.StringSetAsync(key, s_one, ttl, When.NotExists).ConfigureAwait(false)
                ? StateAddResult.Added
                : StateAddResult.Exists;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            Failed(ex);
            return StateAddResult.Unavailable;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<StateValue> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var value = await _database.StringGetAsync(key).ConfigureAwait(false);
            return value.IsNull ? StateValue.Miss : StateValue.Hit((byte[])value!);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            Failed(ex);
            return StateValue.Down;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<bool> SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            return await _database.StringSetAsync(key, value, ttl).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            Failed(ex);
            return false;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<StateValue> GetOrAddAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            // One script, so the set-if-absent and the read are atomic (works on every Redis since 2.6; SET NX GET
            // would need 7.0). The key goes through KEYS, so the key_prefix applies to it.
            var held = await _database.ScriptEvaluateAsync(
                GetOrAddScript,
                [key],
                [value, (long)Math.Max(1, ttl.TotalMilliseconds)]).ConfigureAwait(false);
            return held.IsNull ? StateValue.Down : StateValue.Hit((byte[])held!);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            Failed(ex);
            return StateValue.Down;
        }
    }

    private const string GetOrAddScript =
        "redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) return redis.call('GET', KEYS[1])";

    private static bool IsUnavailable(Exception ex) =>
        ex is RedisException or TimeoutException or ObjectDisposedException or InvalidOperationException;

    private void Failed(Exception ex)
    {
        // Note: logged on the 1st, 2nd, 4th, 8th… failure only: an outage must not flood the log.
        var n = Interlocked.Increment(ref _errors);
        if ((n & (n - 1)) == 0)
        {
            LogCommandFailed(_logger, n.ToString(CultureInfo.InvariantCulture), ex.GetType().Name);
        }
    }

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync().ConfigureAwait(false);

    [LoggerMessage(EventId = 1810, Level = LogLevel.Information, Message = "State backend redis at {Endpoint} (connected: {Connected})")]
    private static partial void LogConnecting(ILogger logger, string endpoint, bool connected);

    [LoggerMessage(EventId = 1811, Level = LogLevel.Warning, Message = "State backend redis lost its connection to {Endpoint} ({Failure}); DPoP requests get 503 state.unavailable until it is back")]
    private static partial void LogConnectionFailed(ILogger logger, string endpoint, string failure);

    [LoggerMessage(EventId = 1812, Level = LogLevel.Information, Message = "State backend redis reconnected to {Endpoint}")]
    private static partial void LogConnectionRestored(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 1813, Level = LogLevel.Warning, Message = "State backend redis command failed ({Count} so far): {Error}")]
    private static partial void LogCommandFailed(ILogger logger, string count, string error);

    // Next free id: 1814.
}
