using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Gatehouse.Tests.Audit;

/// <summary>Listens to the instruments of one meter instance and keeps every measurement.</summary>
internal sealed class MetricCollector : IDisposable
{
    private readonly MeterListener _listener = new();

    public MetricCollector(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, string?> Tags)> Measurements { get; } = new();

    public void Observe() => _listener.RecordObservableInstruments();

    public double Sum(string instrument, params (string Key, string Value)[] tags) =>
        Measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.GetValueOrDefault(t.Key) == t.Value)).Sum(m => m.Value);

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, string?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        Measurements.Enqueue((instrument.Name, value, map));
    }
}
