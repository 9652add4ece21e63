using System.Threading.Channels;
using Gatehouse.Audit;

namespace Gatehouse.Proxy.Admin.Console;

/// <summary>
/// The console's view of the decision stream: the newest audit records (the same records the audit trail gets,
/// which never hold a token) in a bounded ring, plus live subscribers for Server-Sent Events. Publishing never blocks
/// the request path: a subscriber that falls behind loses its oldest undelivered records, never the caller's time.
/// </summary>
internal sealed class DecisionFeed
{
    private readonly AuditRecord?[] _ring;
    private readonly Lock _gate = new();
    private readonly List<Channel<AuditRecord>> _subscribers = [];
    private long _published;

    public DecisionFeed(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new AuditRecord?[capacity];
    }

    /// <summary>Records published since the process started.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>How many live subscribers (open console streams) there are.</summary>
    public int Subscribers
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    public void Publish(AuditRecord record)
    {
        lock (_gate)
        {
            _ring[_published % _ring.Length] = record;
            _published++;
            foreach (var subscriber in _subscribers)
            {
                // Bounded with DropOldest: TryWrite always succeeds and never waits.
                subscriber.Writer.TryWrite(record);
            }
        }
    }

    /// <summary>The kept records at or after <paramref name="since"/>, oldest first.</summary>
    public List<AuditRecord> Since(DateTimeOffset since)
    {
        lock (_gate)
        {
            var count = (int)Math.Min(_published, _ring.Length);
            var result = new List<AuditRecord>(count);
            for (var i = _published - count; i < _published; i++)
            {
                if (_ring[i % _ring.Length] is { } record && record.Time >= since)
                {
                    result.Add(record);
                }
            }

            return result;
        }
    }

    /// <summary>A live subscription; dispose it to stop receiving.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(256)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        });
        lock (_gate)
        {
            _subscribers.Add(channel);
        }

        return new Subscription(this, channel);
    }

    private void Unsubscribe(Channel<AuditRecord> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }

        channel.Writer.TryComplete();
    }

    internal sealed class Subscription(DecisionFeed feed, Channel<AuditRecord> channel) : IDisposable
    {
        public ChannelReader<AuditRecord> Reader => channel.Reader;

        public void Dispose() => feed.Unsubscribe(channel);
    }
}
