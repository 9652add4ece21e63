using Gatehouse.Configuration;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Hosting;

/// <summary>How to start a <see cref="GatehouseServer"/>.</summary>
public sealed class GatehouseServerOptions
{
    /// <summary>The validated configuration to start with.</summary>
    public required GatehouseConfig Config { get; init; }
    /// <summary>The file it came from; when set, the file and the files it references are watched for changes.</summary>
    public string? ConfigPath { get; init; }
    /// <summary>Files referenced by the config (JWKS files, secrets, certificates), watched with the config.</summary>
    public IReadOnlyList<string> ReferencedFiles { get; init; } = [];
    public bool WatchForChanges { get; init; } = true;
    /// <summary>How often watched files are checked. Default 1 s.</summary>
    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Environment used for <c>GATEHOUSE_</c> overrides on reload (defaults to the process environment).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
    /// <summary>Handler for outbound calls to identity providers (JWKS, discovery, introspection).</summary>
    public Func<HttpMessageHandler>? BackchannelHandlerFactory { get; init; }
    /// <summary>
    /// Audit sinks added to those <c>audit:</c> asks for (an embedder's own destination). They share the bounded
    /// queue: a slow one makes records drop (counted), never requests wait. The server disposes them.
    /// </summary>
    public IReadOnlyList<Gatehouse.Audit.IAuditSink> AuditSinks { get; init; } = [];
}
