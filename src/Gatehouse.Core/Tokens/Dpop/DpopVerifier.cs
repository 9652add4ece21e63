using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Model;
using Gatehouse.State;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tokens.Dpop;

/// <summary>The outcome of <see cref="DpopVerifier.VerifyAsync"/>.</summary>
public readonly struct DpopCheck
{
    private DpopCheck(string? reason, bool unavailable, string? nonce, string? thumbprint)
    {
        Reason = reason;
        Unavailable = unavailable;
        Nonce = nonce;
        Thumbprint = thumbprint;
    }

    /// <summary>True when the proof passed every check, replay included.</summary>
    public bool Ok => Reason is null;

    /// <summary>The <c>dpop.*</c> (or <c>state.unavailable</c>) reason, on failure.</summary>
    public string? Reason { get; }

    /// <summary>The replay cache could not be consulted: 503, never an allow.</summary>
    public bool Unavailable { get; }

    /// <summary>A fresh nonce to send as <c>DPoP-Nonce</c> (on <c>use_dpop_nonce</c> failures), or null.</summary>
    public string? Nonce { get; }

    /// <summary>The proof key's thumbprint, on success.</summary>
    public string? Thumbprint { get; }

    internal static DpopCheck Success(string thumbprint) => new(null, false, null, thumbprint);

    internal static DpopCheck Fail(string reason, string? nonce = null) => new(reason, false, nonce, null);

    internal static DpopCheck Down(string reason) => new(reason, true, null, null);
}

/// <summary>
/// Verifies the DPoP proof of a request (RFC 9449 §4.3 and §7.1): the stateless checks of
/// <see cref="DpopProofValidator"/>, then the server nonce (§8, when the listener asks for one), then the replay
/// cache (§11.1): each (jkt, jti) is accepted once within its <c>iat</c> window, held in the <see cref="IStateStore"/>
/// (memory, or Redis shared by replicas) under a SHA-256 fingerprint until the proof would be too old anyway. When
/// the store cannot answer, the request fails closed with 503 <c>state.unavailable</c>.
/// </summary>
public sealed partial class DpopVerifier
{
    private readonly TimeProvider _time;
    private readonly IStateStore _state;
    private readonly ILogger _logger;
    private readonly DpopNonces _nonces;

    /// <summary>
    /// Creates a verifier over <paramref name="state"/>. Server nonces (RFC 9449 §8) are shared through
    /// <paramref name="state"/> when it is a shared backend (anything but <c>memory</c>), so every replica accepts
    /// every replica's nonces; with the memory backend they are derived from <paramref name="nonceKey"/> (32 bytes,
    /// default a random per-process key) and only the issuing replica accepts them.
    /// </summary>
    public DpopVerifier(TimeProvider timeProvider, IStateStore state, ILoggerFactory loggerFactory, byte[]? nonceKey = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _time = timeProvider;
        _state = state;
        _logger = loggerFactory.CreateLogger("Gatehouse.Tokens.Dpop");
        _nonces = nonceKey is null && !string.Equals(state.Backend, "memory", StringComparison.Ordinal)
            ? DpopNonces.Shared(state)
            : DpopNonces.Local(nonceKey ?? RandomNumberGenerator.GetBytes(32));
    }

    /// <summary><c>shared</c> when server nonces come from the shared state backend, <c>local</c> otherwise.</summary>
    public string NonceSource => _nonces.Kind;

    /// <summary>The state backend the replay cache lives in.</summary>
    public IStateStore State => _state;

    /// <summary>Raised per verified or refused proof: (reason or null for success).</summary>
    public event Action<string?>? Verified;

    /// <summary>The nonce a listener currently hands out (RFC 9449 §8); null when the shared backend cannot answer.</summary>
    public ValueTask<string?> CurrentNonceAsync(DpopSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return _nonces.CurrentAsync(settings, _time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Checks <paramref name="proofHeader"/> for a request whose facts are <paramref name="expected"/> (its <c>Now</c> is ignored: time comes from the verifier's clock).</summary>
    public async ValueTask<DpopCheck> VerifyAsync(string? proofHeader, DpopExpectations expected, DpopSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var now = _time.GetUtcNow();
        var result = DpopProofValidator.Validate(proofHeader, expected with { Now = now }, settings);
        if (!result.Ok)
        {
            return Done(DpopCheck.Fail(result.Reason!));
        }

        // RFC 9449 §8: with nonces on, a proof without the current (or previous) nonce is answered with a fresh one.
        // With shared nonces, a backend that cannot answer fails closed like the replay cache below.
        if (settings.Config.Nonce)
        {
            (bool Valid, string? Current) nonce;
            try
            {
                nonce = await _nonces.CheckAsync(result.Nonce, settings, now, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                nonce = (false, null);
            }

            if (nonce.Current is null)
            {
                LogStateUnavailable(_logger, _state.Backend);
                return Done(DpopCheck.Down(ReasonCodes.StateUnavailable));
            }

            if (!nonce.Valid)
            {
                return Done(DpopCheck.Fail(ReasonCodes.DpopNonceRequired + (result.Nonce is null ? ":missing" : ":stale"), nonce.Current));
            }
        }

        // RFC 9449 §11.1: the proof is held until it would fail the iat check anyway, so the cache stays bounded by
        // the proof rate times the window.
        var expires = DpopProofValidator.FromNumericDate(result.Iat) + settings.Config.MaxAge + settings.Config.ClockSkew;
        var ttl = expires - now;
        if (ttl < TimeSpan.FromSeconds(1))
        {
            ttl = TimeSpan.FromSeconds(1);
        }

        StateAddResult added;
        try
        {
            added = await _state.TryAddAsync(result.ReplayKey()!, ttl, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            added = StateAddResult.Unavailable;
        }

        switch (added)
        {
            case StateAddResult.Added:
                return Done(DpopCheck.Success(result.Thumbprint!));
            case StateAddResult.Exists:
                LogReplayed(_logger, result.Thumbprint!, _state.Backend);
                return Done(DpopCheck.Fail(ReasonCodes.DpopReplayed));
            default:
                LogStateUnavailable(_logger, _state.Backend);
                return Done(DpopCheck.Down(ReasonCodes.StateUnavailable));
        }
    }

    private DpopCheck Done(DpopCheck check)
    {
        Verified?.Invoke(check.Reason);
        return check;
    }

    [LoggerMessage(EventId = 1151, Level = LogLevel.Information, Message = "DPoP proof replayed (key {Thumbprint}, state backend {Backend})")]
    private static partial void LogReplayed(ILogger logger, string thumbprint, string backend);

    [LoggerMessage(EventId = 1152, Level = LogLevel.Warning, Message = "DPoP replay cache unavailable (state backend {Backend}): DPoP requests are refused with 503 until it answers")]
    private static partial void LogStateUnavailable(ILogger logger, string backend);
}
