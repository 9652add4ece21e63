using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Gatehouse.Diagnostics;

/// <summary>
/// Aggregates the instruments of selected meters with a <see cref="MeterListener"/> and writes them in the
/// Prometheus text exposition format 0.0.4 (served by the admin listener's <c>/metrics</c>).
/// </summary>
/// <remarks>
/// <para>No Prometheus exporter package restores here, so this is Gatehouse's own (docs/observability.md).</para>
/// <para>Mapping (OpenTelemetry "Prometheus compatibility" rules): dotted names become snake_case, the unit is
/// appended as a word (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>, <c>{…}</c> annotations dropped),
/// counters get <c>_total</c>; Counter/ObservableCounter → counter, UpDownCounter/Gauge and their observable forms
/// → gauge, Histogram → histogram with cumulative <c>_bucket{le}</c>, <c>_sum</c>, <c>_count</c>. Bucket bounds
/// come from the instrument's advice, else the OpenTelemetry defaults (seconds-scaled for unit <c>s</c>).</para>
/// <para>Thread safety: measurements arrive on any thread and update a per-instrument table under that
/// instrument's lock (held for a lookup and an add); scrapes are serialized with one another.</para>
/// </remarks>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The content type to serve <see cref="WriteTo"/>'s output with.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Meters exported besides Gatehouse's own: ASP.NET Core hosting and Kestrel, HttpClient, the runtime.</summary>
    public static IReadOnlyList<string> DefaultMeterNames { get; } =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "System.Runtime"];

    private static readonly double[] s_defaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
    private static readonly double[] s_secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly MeterListener _listener = new();
    private readonly Func<Meter, bool> _include;
    private readonly Dictionary<Instrument, InstrumentState> _instruments = [];
    private readonly Lock _instrumentsLock = new();
    private readonly Lock _scrapeLock = new();

    /// <summary>Exports <paramref name="metrics"/>' meter and the <see cref="DefaultMeterNames"/>.</summary>
    public PrometheusExporter(GatehouseMetrics metrics)
        : this(metrics?.Meter ?? throw new ArgumentNullException(nameof(metrics)), DefaultMeterNames)
    {
    }

    /// <summary>Exports the instance <paramref name="meter"/> and every meter named in <paramref name="meterNames"/>.</summary>
    public PrometheusExporter(Meter meter, IEnumerable<string> meterNames)
        : this(Include(meter, meterNames))
    {
    }

    /// <summary>Exports every meter <paramref name="include"/> accepts.</summary>
    public PrometheusExporter(Func<Meter, bool> include)
    {
        ArgumentNullException.ThrowIfNull(include);
        _include = include;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = OnMeasurementsCompleted;
        _listener.SetMeasurementEventCallback<byte>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, v, tags, state) => ((InstrumentState)state!).Record(v, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, v, tags, state) => ((InstrumentState)state!).Record((double)v, tags));
        _listener.Start();
    }

    /// <summary>Observes the observable instruments and writes every metric family, sorted by name.</summary>
    public void WriteTo(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_scrapeLock)
        {
            InstrumentState[] states;
            lock (_instrumentsLock)
            {
                states = [.. _instruments.Values];
            }

            foreach (var state in states)
            {
                if (state.IsObservable)
                {
                    state.Clear();
                }
            }

            _listener.RecordObservableInstruments();

            // Note: two instruments can map to one family (same name in two included meters); they are written
            // under one HELP/TYPE, and a second instrument of a different kind under that name is left out.
            var families = new SortedDictionary<string, List<InstrumentState>>(StringComparer.Ordinal);
            foreach (var state in states)
            {
                if (!families.TryGetValue(state.FamilyName, out var list))
                {
                    families[state.FamilyName] = list = [];
                }

                if (list.Count == 0 || list[0].Kind == state.Kind)
                {
                    list.Add(state);
                }
            }

            var written = new HashSet<string>(StringComparer.Ordinal);
            var line = new StringBuilder(256);
            foreach (var (name, members) in families)
            {
                WriteFamily(writer, name, members, written, line);
            }
        }
    }

    /// <summary>The exposition as a string (tests, <c>gatehouse explain</c>-style tools).</summary>
    public string Collect()
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        WriteTo(writer);
        return writer.ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    private static Func<Meter, bool> Include(Meter meter, IEnumerable<string> meterNames)
    {
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(meterNames);
        var names = new HashSet<string>(meterNames, StringComparer.Ordinal);
        return m => ReferenceEquals(m, meter) || names.Contains(m.Name);
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_include(instrument.Meter) || InstrumentState.KindOf(instrument) is not { } kind)
        {
            return;
        }

        var state = new InstrumentState(instrument, kind);
        lock (_instrumentsLock)
        {
            _instruments[instrument] = state;
        }

        listener.EnableMeasurementEvents(instrument, state);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        lock (_instrumentsLock)
        {
            _instruments.Remove(instrument);
        }
    }

    private static void WriteFamily(TextWriter writer, string name, List<InstrumentState> members, HashSet<string> written, StringBuilder line)
    {
        var series = new List<(string Labels, SeriesSnapshot Data)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            foreach (var snapshot in member.Snapshot())
            {
                var labels = FormatLabels(snapshot.Labels);
                if (seen.Add(labels))
                {
                    series.Add((labels, snapshot));
                }
            }
        }

        if (series.Count == 0)
        {
            return;
        }

        var kind = members[0].Kind;
        if (!written.Add(name) || (kind == MetricKind.Histogram && (!written.Add(name + "_bucket") || !written.Add(name + "_sum") || !written.Add(name + "_count"))))
        {
            return;
        }

        series.Sort(static (a, b) => string.CompareOrdinal(a.Labels, b.Labels));
        writer.Write("# HELP ");
        writer.Write(name);
        writer.Write(' ');
        writer.Write(EscapeHelp(members[0].Help));
        writer.Write('\n');
        writer.Write("# TYPE ");
        writer.Write(name);
        writer.Write(kind switch { MetricKind.Counter => " counter\n", MetricKind.Gauge => " gauge\n", _ => " histogram\n" });

        foreach (var (labels, data) in series)
        {
            if (kind != MetricKind.Histogram)
            {
                WriteSample(writer, line, name, labels, null, FormatValue(data.Value));
                continue;
            }

            var bounds = data.Bounds!;
            long cumulative = 0;
            for (var i = 0; i < bounds.Length; i++)
            {
                cumulative += data.BucketCounts![i];
                WriteSample(writer, line, name + "_bucket", labels, FormatValue(bounds[i]), cumulative.ToString(CultureInfo.InvariantCulture));
            }

            WriteSample(writer, line, name + "_bucket", labels, "+Inf", data.Count.ToString(CultureInfo.InvariantCulture));
            WriteSample(writer, line, name + "_sum", labels, null, FormatValue(data.Value));
            WriteSample(writer, line, name + "_count", labels, null, data.Count.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void WriteSample(TextWriter writer, StringBuilder line, string name, string labels, string? le, string value)
    {
        line.Clear();
        line.Append(name);
        if (labels.Length > 0 || le is not null)
        {
            line.Append('{').Append(labels);
            if (le is not null)
            {
                line.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
            }

            line.Append('}');
        }

        line.Append(' ').Append(value).Append('\n');
        writer.Write(line);
    }

    private static string FormatLabels(KeyValuePair<string, string>[] labels)
    {
        if (labels.Length == 0)
        {
            return "";
        }

        var builder = new StringBuilder();
        foreach (var (key, value) in labels)
        {
            if (builder.Length > 0)
            {
                builder.Append(',');
            }

            builder.Append(key).Append("=\"");
            AppendEscapedLabelValue(builder, value);
            builder.Append('"');
        }

        return builder.ToString();
    }

    /// <summary>Label values escape <c>\</c>, <c>"</c> and newline (exposition format 0.0.4).</summary>
    internal static void AppendEscapedLabelValue(StringBuilder builder, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': builder.Append("\\\\"); break;
                case '"': builder.Append("\\\""); break;
                case '\n': builder.Append("\\n"); break;
                default: builder.Append(c); break;
            }
        }
    }

    /// <summary>HELP text escapes <c>\</c> and newline.</summary>
    internal static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// The Prometheus family name for an instrument: sanitized name, unit word, <c>_total</c> for counters.
    /// </summary>
    internal static string FamilyNameOf(string instrumentName, string? unit, MetricKind kind)
    {
        var name = SanitizeName(instrumentName, allowColon: true);
        if (kind == MetricKind.Counter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            name = name[..^"_total".Length];
        }

        var unitWord = UnitWord(unit, kind);
        if (unitWord.Length > 0 && !name.EndsWith("_" + unitWord, StringComparison.Ordinal) && name != unitWord)
        {
            name += "_" + unitWord;
        }

        if (kind == MetricKind.Counter)
        {
            return name + "_total";
        }

        // Note: _count, _sum and _bucket belong to histograms and summaries; a gauge named so (the runtime's
        // dotnet.assembly.count) would read as part of one and fails `promtool check metrics`.
        if (kind == MetricKind.Gauge && (name.EndsWith("_count", StringComparison.Ordinal)
            || name.EndsWith("_sum", StringComparison.Ordinal) || name.EndsWith("_bucket", StringComparison.Ordinal)))
        {
            return name + "_value";
        }

        return name;
    }

    /// <summary>Replaces characters outside <c>[a-zA-Z0-9_]</c> (and <c>:</c> for metric names) with <c>_</c>, merging runs.</summary>
    internal static string SanitizeName(string name, bool allowColon)
    {
        var builder = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var valid = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            var next = valid ? c : '_';
            if (next == '_' && builder.Length > 0 && builder[^1] == '_')
            {
                continue;
            }

            builder.Append(next);
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    internal static string SanitizeLabelName(string key)
    {
        var name = SanitizeName(key, allowColon: false);

        // Note: names starting with "__" are reserved for Prometheus itself; "le" is the bucket label.
        if (name.StartsWith("__", StringComparison.Ordinal))
        {
            name = "key" + name[1..];
        }

        return name == "le" ? "tag_le" : name;
    }

    private static string UnitWord(string? unit, MetricKind kind)
    {
        if (string.IsNullOrEmpty(unit))
        {
            return "";
        }

        // Annotations in braces ({request}) carry no unit (UCUM).
        var braces = unit.IndexOf('{', StringComparison.Ordinal);
        if (braces >= 0)
        {
            var close = unit.IndexOf('}', braces);
            unit = close < 0 ? unit[..braces] : unit[..braces] + unit[(close + 1)..];
        }

        unit = unit.Trim();
        if (unit.Length == 0)
        {
            return "";
        }

        if (unit == "1")
        {
            return kind == MetricKind.Gauge ? "ratio" : "";
        }

        var slash = unit.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var per = UnitName(unit[(slash + 1)..]);
            var of = UnitName(unit[..slash]);
            return of.Length == 0 ? "per_" + per : of + "_per_" + per;
        }

        return UnitName(unit);
    }

    private static string UnitName(string unit) => unit switch
    {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "bit" => "bits",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => SanitizeName(unit, allowColon: false).Trim('_'),
    };

    internal enum MetricKind
    {
        Counter,
        Gauge,
        Histogram,
    }

    private readonly record struct SeriesSnapshot(KeyValuePair<string, string>[] Labels, double Value, double[]? Bounds, long[]? BucketCounts, long Count);

    /// <summary>The aggregation of one instrument: one entry per distinct tag set.</summary>
    private sealed class InstrumentState
    {
        private readonly Lock _lock = new();
        private Series? _last; // guarded by _lock: the series the previous measurement went to

        // Note: keyed by an order-independent hash of the tags, with equality checked on the raw tags, so that
        // a repeat measurement (the common case) finds its series without allocating.
        private readonly Dictionary<int, List<Series>> _series = [];
        private readonly double[]? _bounds;

        public InstrumentState(Instrument instrument, (MetricKind Kind, bool Observable, bool LastValue) kind)
        {
            Kind = kind.Kind;
            IsObservable = kind.Observable;
            LastValue = kind.LastValue;
            FamilyName = FamilyNameOf(instrument.Name, instrument.Unit, Kind);
            Help = string.IsNullOrWhiteSpace(instrument.Description)
                ? instrument.Name + " (" + instrument.Meter.Name + ")"
                : instrument.Description;
            if (Kind == MetricKind.Histogram)
            {
                _bounds = BoundsOf(instrument);
            }
        }

        public MetricKind Kind { get; }
        public bool IsObservable { get; }

        /// <summary>Gauges and observable counters report the current value or total, not an increment.</summary>
        public bool LastValue { get; }

        public string FamilyName { get; }
        public string Help { get; }

        public static (MetricKind Kind, bool Observable, bool LastValue)? KindOf(Instrument instrument)
        {
            var type = instrument.GetType();
            if (!type.IsGenericType)
            {
                return null;
            }

            var definition = type.GetGenericTypeDefinition();
            if (definition == typeof(Counter<>))
            {
                return (MetricKind.Counter, false, false);
            }

            if (definition == typeof(ObservableCounter<>))
            {
                return (MetricKind.Counter, true, true);
            }

            if (definition == typeof(UpDownCounter<>))
            {
                return (MetricKind.Gauge, false, false);
            }

            if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>))
            {
                return (MetricKind.Gauge, true, true);
            }

            if (definition == typeof(Gauge<>))
            {
                return (MetricKind.Gauge, false, true);
            }

            if (definition == typeof(Histogram<>))
            {
                return (MetricKind.Histogram, false, false);
            }

            return null;
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (double.IsNaN(value) && Kind != MetricKind.Gauge)
            {
                return;
            }

            lock (_lock)
            {
                // Note: a hot instrument is recorded again and again with the same tag strings (constants, route
                // names from the config): comparing references against the last series hit skips hashing every tag
                // string (Marvin) and the bucket scan, ~2 % of a proxied request's CPU. Anything else takes the
                // content-equality path, so correctness never depends on string identity.
                var series = _last is { } last && last.MatchesSameInstances(tags) ? last : FindOrAdd(tags);
                _last = series;
                if (Kind == MetricKind.Histogram)
                {
                    var index = Array.BinarySearch(_bounds!, value);
                    series.BucketCounts![index < 0 ? ~index : index]++;
                    series.Value += value;
                    series.Count++;
                }
                else if (LastValue)
                {
                    series.Value = value;
                }
                else
                {
                    series.Value += value;
                }
            }
        }

        public void Clear()
        {
            lock (_lock)
            {
                _series.Clear();
                _last = null;
            }
        }

        private Series FindOrAdd(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = HashOf(tags);
            return Find(hash, tags) ?? Add(hash, tags);
        }

        public List<SeriesSnapshot> Snapshot()
        {
            lock (_lock)
            {
                var result = new List<SeriesSnapshot>();
                foreach (var bucket in _series.Values)
                {
                    foreach (var series in bucket)
                    {
                        result.Add(new SeriesSnapshot(series.Labels, series.Value, _bounds,
                            series.BucketCounts is null ? null : (long[])series.BucketCounts.Clone(), series.Count));
                    }
                }

                return result;
            }
        }

        private Series? Find(int hash, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (!_series.TryGetValue(hash, out var candidates))
            {
                return null;
            }

            foreach (var candidate in candidates)
            {
                if (candidate.Matches(tags))
                {
                    return candidate;
                }
            }

            return null;
        }

        private Series Add(int hash, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = new Series(tags, _bounds is null ? null : new long[_bounds.Length + 1]);
            if (!_series.TryGetValue(hash, out var list))
            {
                _series[hash] = list = new List<Series>(1);
            }

            list.Add(series);
            return series;
        }

        private static int HashOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = 0;
            foreach (var (key, value) in tags)
            {
                hash += HashCode.Combine(key, value);
            }

            return hash;
        }

        private static double[] BoundsOf(Instrument instrument)
        {
            var advised = instrument switch
            {
                Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
                Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                _ => null,
            };
            if (advised is { Length: > 0 })
            {
                Array.Sort(advised);
                return [.. advised.Distinct().Where(b => !double.IsNaN(b) && !double.IsInfinity(b))];
            }

            return instrument.Unit == "s" ? s_secondsBuckets : s_defaultBuckets;
        }
    }

    private sealed class Series
    {
        private readonly KeyValuePair<string, object?>[] _raw;

        public Series(ReadOnlySpan<KeyValuePair<string, object?>> tags, long[]? bucketCounts)
        {
            _raw = tags.ToArray();
            BucketCounts = bucketCounts;
            var labels = new List<KeyValuePair<string, string>>(_raw.Length);
            foreach (var (key, value) in _raw)
            {
                var name = SanitizeLabelName(key);
                if (!labels.Exists(l => l.Key == name))
                {
                    labels.Add(new(name, FormatTagValue(value)));
                }
            }

            labels.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            Labels = [.. labels];
        }

        public KeyValuePair<string, string>[] Labels { get; }
        public long[]? BucketCounts { get; }
        public double Value;
        public long Count;

        /// <summary>Same tags as this series', as the very same key and value objects (or equal ints) in the same order.</summary>
        public bool MatchesSameInstances(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != _raw.Length)
            {
                return false;
            }

            for (var i = 0; i < tags.Length; i++)
            {
                // Note: status codes arrive boxed (a new box per measurement unless the caller caches them).
                var value = tags[i].Value;
                var raw = _raw[i].Value;
                if (!ReferenceEquals(tags[i].Key, _raw[i].Key)
                    || !(ReferenceEquals(value, raw) || (value is int a && raw is int b && a == b)))
                {
                    return false;
                }
            }

            return true;
        }

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != _raw.Length)
            {
                return false;
            }

            foreach (var (key, value) in tags)
            {
                var found = false;
                foreach (var (rawKey, rawValue) in _raw)
                {
                    if (string.Equals(key, rawKey, StringComparison.Ordinal) && Equals(value, rawValue))
                    {
                        found = true;
                        break;
                    }
                }

                if (!found)
                {
                    return false;
                }
            }

            return true;
        }

        private static string FormatTagValue(object? value) => value switch
        {
            null => "",
            string s => s,
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}
