using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Audit;

/// <summary>Keeps every formatted log message, its exception text and its EventId.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();
    public ConcurrentQueue<EventId> EventIds { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            owner.EventIds.Enqueue(eventId);
            owner.Messages.Enqueue(formatter(state, exception) + " " + exception);
        }
    }
}
