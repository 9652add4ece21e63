using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Proxy.Tls;

/// <summary>Knobs of <see cref="MtlsClientHandlerFactory"/> that are not in the user's config.</summary>
public sealed record MtlsClientOptions
{
    /// <summary>How often, at most, the certificate, key and bundle files are checked for changes. Default 5 s.</summary>
    public TimeSpan ReloadPollInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// Pooled connections are closed after this long, so a rotated client certificate is presented on a fresh
    /// handshake soon after rotation. Default 5 min.
    /// </summary>
    public TimeSpan PooledConnectionLifetime { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Connect timeout. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Creates the <see cref="SocketsHttpHandler"/> a sidecar-outbound route uses to originate mTLS: it presents the
/// workload's certificate and accepts the upstream only when its X.509-SVID verifies against the trust bundle and
/// carries exactly <see cref="OutboundConfig.ExpectedPeer"/> (SPIFFE X509-SVID §5: authorize the SPIFFE ID, not the
/// host name).
/// </summary>
public static class MtlsClientHandlerFactory
{
    /// <summary>Creates the handler; throws on a configuration that cannot be used (config validation should catch it first).</summary>
    /// <exception cref="InvalidOperationException">A field is missing or a file cannot be loaded; the message lists every error.</exception>
    public static SocketsHttpHandler Create(OutboundConfig outbound, TimeProvider time, ILogger? logger = null, MtlsClientOptions? options = null)
    {
        var result = TryCreate(outbound, time, logger, options);
        return result.Handler ?? throw new InvalidOperationException("Invalid outbound mTLS configuration: " + string.Join("; ", result.Errors));
    }

    /// <summary>Creates the handler, or returns every configuration/file error.</summary>
    public static MtlsClientHandlerResult TryCreate(OutboundConfig outbound, TimeProvider time, ILogger? logger = null, MtlsClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(outbound);
        ArgumentNullException.ThrowIfNull(time);
        logger ??= NullLogger.Instance;
        options ??= new MtlsClientOptions();

        var errors = new List<string>();
        if (string.IsNullOrEmpty(outbound.ClientCertificate) || string.IsNullOrEmpty(outbound.ClientKey))
        {
            errors.Add("outbound.client_certificate and outbound.client_key are required");
        }

        if (string.IsNullOrEmpty(outbound.TrustBundle))
        {
            errors.Add("outbound.trust_bundle is required");
        }

        SpiffeId? expected = null;
        if (string.IsNullOrEmpty(outbound.ExpectedPeer))
        {
            errors.Add("outbound.expected_peer is required (fail closed: an upstream of any identity is never accepted)");
        }
        else if (!SpiffeId.TryParse(outbound.ExpectedPeer, out expected, out var idError))
        {
            errors.Add($"outbound.expected_peer: not a SPIFFE ID ({idError})");
        }

        if (errors.Count > 0)
        {
            return new MtlsClientHandlerResult(null, errors);
        }

        var expectedPeer = expected!;
        var created = ReloadingFileSource<OutboundTlsMaterial>.Create(
            "outbound " + expectedPeer.Value,
            [outbound.ClientCertificate!, outbound.ClientKey!, outbound.TrustBundle!],
            () => Load(outbound, expectedPeer),
            time,
            options.ReloadPollInterval,
            logger);
        if (!created.Success)
        {
            return new MtlsClientHandlerResult(null, created.Errors);
        }

        var source = created.Value;
        var handler = new SocketsHttpHandler
        {
            // Note: an upstream handler: HttpClient's per-request meters stay off (Gateway/UpstreamMeters.cs).
            MeterFactory = Gateway.UpstreamMeters.Instance,
            PooledConnectionLifetime = options.PooledConnectionLifetime,
            ConnectTimeout = options.ConnectTimeout,
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    DisableCertificateDownloads = true,
                    RevocationMode = X509RevocationMode.NoCheck,
                },
                // Called per handshake, so a rotated certificate is used by the next new connection.
                LocalCertificateSelectionCallback = (_, _, _, _, _) => source.Current.Client.Leaf,
                RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                {
                    if (certificate is null)
                    {
                        TlsLog.UpstreamCertificateRejected(logger, expectedPeer.Value, ReasonCodes.PeerCertificateMissing);
                        return false;
                    }

                    var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    var result = PeerCertificateValidator.Validate(leaf, chain?.ChainPolicy.ExtraStore, source.Current.Bundles, time, PeerRole.Server);
                    if (!result.IsValid)
                    {
                        TlsLog.UpstreamCertificateRejected(logger, expectedPeer.Value, result.FailureReason);
                        return false;
                    }

                    if (result.Identity != expectedPeer)
                    {
                        TlsLog.UpstreamCertificateRejected(logger, expectedPeer.Value, $"{ReasonCodes.PeerIdentityMismatch}:{PeerCertificateFailures.UnexpectedPeer}/{result.Identity}");
                        return false;
                    }

                    return true;
                },
            },
        };
        return new MtlsClientHandlerResult(handler, []);
    }

    private static LoadResult<OutboundTlsMaterial> Load(OutboundConfig outbound, SpiffeId expected)
    {
        var errors = new List<string>();
        if (!TlsMaterialLoader.TryLoadCertificate(outbound.ClientCertificate!, outbound.ClientKey!, out var client, out var error))
        {
            errors.Add("outbound.client_certificate: " + error);
        }

        // The single outbound bundle vouches only for the expected peer's trust domain.
        if (!TrustBundleSet.TryLoadPemBundle(outbound.TrustBundle!, out var bundle, out error))
        {
            errors.Add("outbound.trust_bundle: " + error);
        }

        return errors.Count > 0
            ? new(null, errors)
            : new(new OutboundTlsMaterial(client!, new TrustBundleSet(new Dictionary<string, X509Certificate2Collection> { [expected.TrustDomain] = bundle! }, null)), []);
    }
}

/// <summary>The workload certificate and the upstream's bundle; swapped whole on reload.</summary>
internal sealed record OutboundTlsMaterial(CertificateMaterial Client, TrustBundleSet Bundles);

/// <summary>The outcome of <see cref="MtlsClientHandlerFactory.TryCreate"/>.</summary>
public sealed record MtlsClientHandlerResult(SocketsHttpHandler? Handler, IReadOnlyList<string> Errors);
