using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>Keeps every log line in memory so tests can assert on what was (and was not) logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>The one entry with this event id, waited for: some are logged in the background after start-up.</summary>
    public async Task<LogEntry> SingleAsync(int eventId)
    {
        await Poll.UntilAsync(() => Entries.Any(entry => entry.EventId.Id == eventId), $"log event {eventId}");
        return Assert.Single(Entries, entry => entry.EventId.Id == eventId);
    }

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _entries);

    public void Dispose()
    {
    }

    public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

    private sealed class CapturingLogger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
