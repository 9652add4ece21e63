using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tls;

/// <summary>Knobs of <see cref="TlsListenerConfigurator"/> that are not in the user's config.</summary>
public sealed record TlsListenerOptions
{
    /// <summary>Name used in logs. Default "listener".</summary>
    public string ListenerName { get; init; } = "listener";
    /// <summary>How often, at most, certificate, key and bundle files are checked for changes. Default 5 s.</summary>
    public TimeSpan ReloadPollInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>TLS handshake timeout. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Called for every client certificate refused in a handshake (the host audits it). Must not block.</summary>
    public Action<PeerCertificateRejection>? OnRejected { get; init; }
    /// <summary>Called after every federation bundle fetch: (trust domain, success). Must not block.</summary>
    public Action<string, bool>? OnBundleFetch { get; init; }
}

/// <summary>A client certificate refused during a TLS handshake: no HTTP request ever existed, so hosts audit this.</summary>
public sealed record PeerCertificateRejection(string Listener, string Reason, string? Thumbprint, string? Subject, System.Net.EndPoint? Remote);

/// <summary>
/// A configured TLS listener: the current certificate and bundles (reloaded from disk when they change) and the
/// workload identity the listener presents. Hold it for the listener's lifetime.
/// </summary>
public sealed class TlsListenerState : IAsyncDisposable
{
    private readonly ReloadingFileSource<ListenerTlsMaterial> _source;
    private readonly FederatedBundles _federated;

    internal TlsListenerState(ReloadingFileSource<ListenerTlsMaterial> source, ClientCertificateRequirement requirement, FederatedBundles federated)
    {
        _source = source;
        ClientCertificate = requirement;
        _federated = federated;
    }

    /// <summary>The federated trust domains of this listener (bundle endpoints), for readiness.</summary>
    public IReadOnlyCollection<FederatedBundleSource> FederatedBundles => [.. _federated.Sources.Values];

    /// <summary>Stops the bundle endpoints' background refresh.</summary>
    public ValueTask DisposeAsync() => _federated.DisposeAsync();

    /// <summary>The listener's client-certificate requirement.</summary>
    public ClientCertificateRequirement ClientCertificate { get; }

    /// <summary>The SPIFFE ID of the listener's own (current) certificate, for XFCC <c>By=</c>; null when it has none.</summary>
    public SpiffeId? OwnIdentity => _source.Current.Server.Identity;

    /// <summary>The current trust bundles.</summary>
    public TrustBundleSet Bundles => _source.Current.Bundles;

    /// <summary>Checks the files for changes now, and re-fetches federated bundles (e.g. on SIGHUP).</summary>
    public void ReloadNow()
    {
        _source.CheckNow();
        foreach (var source in _federated.Sources.Values)
        {
            _ = source.RefreshNowAsync();
        }
    }

    internal ListenerTlsMaterial Material => _source.Current;
}

/// <summary>
/// Configures HTTPS and mTLS on a Kestrel endpoint from a <see cref="TlsConfig"/>: the server certificate from PEM
/// files, client certificates per <see cref="ClientCertificateRequirement"/> verified with
/// <see cref="PeerCertificateValidator"/> against the bundle of the certificate's own trust domain, and rotation.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>none</c>: no certificate is requested. <c>optional</c>: requested; none → anonymous; an invalid one
/// fails the handshake (never downgraded to anonymous). <c>require</c>: none or invalid fails the handshake.</item>
/// <item>Each handshake reads the current material snapshot, so certificate, key and bundle rotation on disk is picked
/// up by new connections within <see cref="TlsListenerOptions.ReloadPollInterval"/>; open connections keep going.</item>
/// <item>The validation result is stored once per connection as <see cref="IPeerIdentityFeature"/>; read it with
/// <see cref="PeerIdentityFeature.GetPeerIdentity"/>.</item>
/// <item>The chain SslStream builds itself uses no system roots and no AIA downloads or online revocation, so a
/// client certificate can never make the proxy reach out to the network.</item>
/// </list>
/// </remarks>
public static class TlsListenerConfigurator
{
    /// <summary>Loads the material and configures <paramref name="listenOptions"/>.</summary>
    /// <returns>The listener state, or every configuration/file error (nothing is configured then).</returns>
    public static TlsListenerConfigureResult TryConfigure(ListenOptions listenOptions, TlsConfig tls, ILogger logger, TimeProvider time, TlsListenerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        ArgumentNullException.ThrowIfNull(tls);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        options ??= new TlsListenerOptions();

        var errors = new List<string>();
        if (string.IsNullOrEmpty(tls.Certificate) || string.IsNullOrEmpty(tls.Key))
        {
            errors.Add("tls.certificate and tls.key are required");
        }

        if (tls.ClientCertificate != ClientCertificateRequirement.None && tls.TrustBundles.Count == 0 && tls.TrustBundleEndpoints.Count == 0 && string.IsNullOrEmpty(tls.ClientCa))
        {
            errors.Add($"tls.client_certificate is {tls.ClientCertificate.ToString().ToLowerInvariant()} but neither tls.trust_bundles nor tls.client_ca is set");
        }

        if (errors.Count > 0)
        {
            return new TlsListenerConfigureResult(null, errors);
        }

        var files = new List<string> { tls.Certificate, tls.Key };
        files.AddRange(tls.TrustBundles.Values);
        if (!string.IsNullOrEmpty(tls.ClientCa))
        {
            files.Add(tls.ClientCa);
        }

        var federated = FederatedBundles.Create(tls, time, logger, out var federationErrors);
        if (federationErrors.Count > 0)
        {
            return new TlsListenerConfigureResult(null, federationErrors);
        }

        var created = ReloadingFileSource<ListenerTlsMaterial>.Create(options.ListenerName, files, () => Load(tls, federated.Sources), time, options.ReloadPollInterval, logger);
        if (!created.Success)
        {
            _ = federated.DisposeAsync();
            return new TlsListenerConfigureResult(null, created.Errors);
        }

        // Prefetch in the background: until a federated trust domain's bundle arrives, its peers are refused
        // (bundle_unavailable) and /readyz says so; the listener's other trust domains work at once.
        if (options.OnBundleFetch is { } onFetch)
        {
            foreach (var source in federated.Sources.Values)
            {
                source.FetchCompleted += success => onFetch(source.TrustDomain, success);
            }
        }

        federated.Start();
        var state = new TlsListenerState(created.Value, tls.ClientCertificate, federated);
        var alpn = new List<SslApplicationProtocol>();
        if ((listenOptions.Protocols & HttpProtocols.Http2) != 0)
        {
            alpn.Add(SslApplicationProtocol.Http2);
        }

        if ((listenOptions.Protocols & HttpProtocols.Http1) != 0)
        {
            alpn.Add(SslApplicationProtocol.Http11);
        }

        listenOptions.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = options.HandshakeTimeout,
            OnConnection = context => ValueTask.FromResult(CreateServerOptions(context.Connection, state, alpn, logger, time, options.ListenerName, options.OnRejected)),
        });

        return new TlsListenerConfigureResult(state, []);
    }

    /// <summary>As <see cref="TryConfigure"/>, throwing when the configuration or files are bad (startup).</summary>
    /// <exception cref="InvalidOperationException">The TLS configuration or its files cannot be used; the message lists every error.</exception>
    public static TlsListenerState Configure(ListenOptions listenOptions, TlsConfig tls, ILogger logger, TimeProvider time, TlsListenerOptions? options = null)
    {
        var result = TryConfigure(listenOptions, tls, logger, time, options);
        return result.State ?? throw new InvalidOperationException("Invalid TLS configuration: " + string.Join("; ", result.Errors));
    }

    private static SslServerAuthenticationOptions CreateServerOptions(ConnectionContext connection, TlsListenerState state, List<SslApplicationProtocol> alpn, ILogger logger, TimeProvider time, string listenerName, Action<PeerCertificateRejection>? onRejected)
    {
        // One snapshot per handshake: certificate and bundles always belong together.
        var material = state.Material;
        var requirement = state.ClientCertificate;
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = material.Server.Context,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ApplicationProtocols = alpn,
            AllowRenegotiation = false,
            ClientCertificateRequired = requirement != ClientCertificateRequirement.None,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // Note: this policy is only for the chain SslStream builds before calling us; we ignore its verdict and
            // verify against the right trust domain ourselves. It must never touch system roots or the network.
            CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                DisableCertificateDownloads = true,
                RevocationMode = X509RevocationMode.NoCheck,
            },
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                if (requirement == ClientCertificateRequirement.None)
                {
                    return true; // not requested; never used as an identity
                }

                if (certificate is null)
                {
                    if (requirement == ClientCertificateRequirement.Require)
                    {
                        TlsLog.ClientCertificateMissing(logger, listenerName, Model.ReasonCodes.PeerCertificateMissing);
                        onRejected?.Invoke(new PeerCertificateRejection(listenerName, Model.ReasonCodes.PeerCertificateMissing, null, null, connection.RemoteEndPoint));
                        return false;
                    }

                    return true; // optional: anonymous
                }

                var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                var result = PeerCertificateValidator.Validate(leaf, chain?.ChainPolicy.ExtraStore, material.Bundles, time, PeerRole.Client);
                if (!result.IsValid)
                {
                    // Note: also on optional listeners — a bad certificate is an attack or a misconfiguration, not
                    // an anonymous client.
                    TlsLog.ClientCertificateRejected(logger, listenerName, result.FailureReason, result.Thumbprint, result.Subject);
                    onRejected?.Invoke(new PeerCertificateRejection(listenerName, result.FailureReason ?? Model.ReasonCodes.PeerCertificateInvalid, result.Thumbprint, result.Subject, connection.RemoteEndPoint));
                    return false;
                }

                TlsLog.ClientCertificateAccepted(logger, listenerName, result.Identity.Value, result.Thumbprint);
                connection.Features.Set<IPeerIdentityFeature>(new PeerIdentityFeature(result));
                return true;
            },
        };
    }

    private static LoadResult<ListenerTlsMaterial> Load(TlsConfig tls, IReadOnlyDictionary<string, FederatedBundleSource> federated)
    {
        var errors = new List<string>();
        if (!TlsMaterialLoader.TryLoadCertificate(tls.Certificate, tls.Key, out var server, out var error))
        {
            errors.Add("tls.certificate: " + error);
        }

        var bundles = TrustBundleSet.Load(tls.TrustBundles, tls.ClientCa, federated);
        errors.AddRange(bundles.Errors.Select(e => "tls." + e));
        return errors.Count == 0 ? new(new ListenerTlsMaterial(server!, bundles.Bundles!), []) : new(null, errors);
    }
}

/// <summary>The outcome of <see cref="TlsListenerConfigurator.TryConfigure"/>.</summary>
public sealed record TlsListenerConfigureResult(TlsListenerState? State, IReadOnlyList<string> Errors);
