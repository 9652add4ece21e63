using System.Security.Cryptography;

namespace Gatehouse.Configuration;

internal sealed partial class ConfigBinder
{
    private readonly List<(ListenerConfig Listener, YNode ModeNode, string Path)> _txnServiceListeners = [];

    private TxnTokensConfig? BindTxnTokens(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new TxnTokensConfig();
        YNode? singleNode = null, listNode = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.TxnTokens))
        {
            seen.Add(key);
            switch (key)
            {
                case "issuer":
                    result = result with { Issuer = NonEmptyString(value, p) ?? "" };
                    break;
                case "audience":
                    result = result with { Audience = NonEmptyString(value, p) ?? "" };
                    break;
                case "lifetime":
                    // draft-ietf-oauth-transaction-tokens-10, "Txn-Token Lifetime": "on the order of minutes or less".
                    result = result with { Lifetime = Duration(value, p, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)) ?? result.Lifetime };
                    break;
                case "signing_key":
                    singleNode = value;
                    if (BindTxnSigningKey(value, p, ConfigKeys.TxnSigningKey) is { } single)
                    {
                        result = result with { SigningKeys = [single with { Active = true }], SingleKeyForm = true };
                    }

                    break;
                case "signing_keys":
                    listNode = value;
                    result = result with { SigningKeys = BindTxnSigningKeys(value, p) };
                    break;
                case "mint_at_gateway":
                    result = result with { MintAtGateway = Bool(value, p) ?? false };
                    break;
                case "header":
                    if (NonEmptyString(value, p) is { } header)
                    {
                        if (!IsHeaderToken(header) || header.Equals("authorization", StringComparison.OrdinalIgnoreCase))
                        {
                            // Draft -10, "Using Txn-Tokens": the Txn-Token never travels in Authorization, which workloads use for other purposes.
                            Error(value, p, $"'{header}' is not a usable header name (an RFC 9110 token, not Authorization)");
                        }

                        result = result with { Header = header.ToLowerInvariant() };
                    }

                    break;
                case "allowed_callers":
                    var callers = StringItems(value, p);
                    foreach (var (caller, callerNode, callerPath) in callers)
                    {
                        if (!caller.StartsWith("spiffe://", StringComparison.Ordinal) || caller.Length <= "spiffe://".Length)
                        {
                            Error(callerNode, callerPath, $"'{caller}' is not a SPIFFE ID (spiffe://trust-domain/path)");
                        }
                    }

                    result = result with { AllowedCallers = callers.ConvertAll(c => c.Value) };
                    break;
                case "subject_issuers":
                    var issuers = StringItems(value, p);
                    _deferred.Add(() =>
                    {
                        foreach (var (issuer, issuerNode, issuerPath) in issuers)
                        {
                            if (!_issuers.ContainsKey(issuer))
                            {
                                Error(issuerNode, issuerPath, UnknownReference("issuer", issuer, _issuers.Keys));
                            }
                        }
                    });
                    result = result with { SubjectIssuers = issuers.ConvertAll(i => i.Value) };
                    break;
                case "workload":
                    result = result with { Workload = NonEmptyString(value, p) };
                    break;
                case "max_context_bytes":
                    result = result with { MaxContextBytes = (int?)Size(value, p, 256, 64 * 1024) ?? result.MaxContextBytes };
                    break;
                case "jwks_max_age":
                    result = result with { JwksMaxAge = Duration(value, p, TimeSpan.Zero, TimeSpan.FromDays(1)) ?? result.JwksMaxAge };
                    break;
            }
        }

        foreach (var required in new[] { "issuer", "audience" })
        {
            if (!seen.Contains(required))
            {
                Missing(mapping, path, required);
            }
        }

        if (singleNode is not null && listNode is not null)
        {
            Error(listNode, Child(path, "signing_keys"), "set signing_key (one key) or signing_keys (rotation), not both");
        }
        else if (singleNode is null && listNode is null)
        {
            Missing(mapping, path, "signing_key", "a Txn-Token Service signs with a key: { file: PATH, key_id: ID, algorithm: ES256 }");
        }

        return result;
    }

    private List<TxnSigningKeyConfig> BindTxnSigningKeys(YNode node, string path)
    {
        var keys = new List<TxnSigningKeyConfig>();
        if (AsSequence(node, path) is not { } sequence)
        {
            return keys;
        }

        if (sequence.Items.Count == 0)
        {
            Error(node, path, "an empty list signs nothing; list at least one key");
            return keys;
        }

        var ids = new Dictionary<string, YNode>(StringComparer.Ordinal);
        YNode? firstActive = null;
        for (var i = 0; i < sequence.Items.Count; i++)
        {
            var itemPath = Index(path, i);
            if (BindTxnSigningKey(sequence.Items[i], itemPath, ConfigKeys.TxnSigningKeys) is not { } key)
            {
                continue;
            }

            if (key.KeyId.Length > 0 && !ids.TryAdd(key.KeyId, sequence.Items[i]))
            {
                Error(sequence.Items[i], Child(itemPath, "key_id"), $"duplicate key_id '{key.KeyId}' (first used at line {ids[key.KeyId].Line}); verifiers find keys by kid");
            }

            if (key.Active)
            {
                if (firstActive is not null)
                {
                    Error(sequence.Items[i], Child(itemPath, "active"), $"only one key signs; another key is active at line {firstActive.Line}");
                }

                firstActive ??= sequence.Items[i];
            }

            keys.Add(key);
        }

        if (firstActive is null && keys.Count == 1)
        {
            keys[0] = keys[0] with { Active = true };
        }
        else if (firstActive is null && keys.Count > 1)
        {
            Error(node, path, "mark the key that signs with 'active: true' (the others are published for verification only)");
        }

        return keys;
    }

    private TxnSigningKeyConfig? BindTxnSigningKey(YNode node, string path, string[] known)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new TxnSigningKeyConfig();
        YNode? fileNode = null;
        string? filePath = null;
        var sawKeyId = false;
        foreach (var (key, value, p) in Entries(mapping, path, known))
        {
            switch (key)
            {
                case "file":
                    fileNode = value;
                    filePath = p;
                    result = result with { File = FilePath(value, p) ?? "" };
                    break;
                case "key_id":
                    sawKeyId = true;
                    result = result with { KeyId = NonEmptyString(value, p) ?? "" };
                    break;
                case "algorithm":
                    result = result with { Algorithm = OneOf(value, p, ConfigKeys.TxnSigningAlgorithms, "Txn-Token signing algorithm") ?? result.Algorithm };
                    break;
                case "active":
                    result = result with { Active = Bool(value, p) ?? false };
                    break;
            }
        }

        if (fileNode is null)
        {
            Missing(mapping, path, "file", "a PEM private key");
        }
        else if (result.File.Length > 0 && File.Exists(result.File) && TxnSigningKeyFile.Validate(result.File, result.Algorithm) is { } problem)
        {
            Error(fileNode, filePath!, problem);
        }

        if (!sawKeyId)
        {
            Missing(mapping, path, "key_id", "the kid verifiers look the key up by");
        }

        return result;
    }

    /// <summary>Cross-section rules: a txn_token_service listener needs the section and mTLS (draft -10, "Mutual Authentication of the Txn-Token Request").</summary>
    private void CheckTxnTokenListeners(GatehouseConfig config, YNode root)
    {
        foreach (var (listener, modeNode, path) in _txnServiceListeners)
        {
            if (config.TxnTokens is null)
            {
                Error(modeNode, "txn_tokens", $"listener '{listener.Name}' (mode txn_token_service) needs a txn_tokens section: issuer, audience, signing_key");
            }

            // draft-ietf-oauth-transaction-tokens-10, "Mutual Authentication of the Txn-Token Request": the TTS and the requesting workload MUST authenticate each
            // other; callers are identified by their SPIFFE ID from mTLS, so a client certificate is required.
            if (listener.Tls is not { ClientCertificate: ClientCertificateRequirement.Require })
            {
                Error(modeNode, Child(path, "tls"), "a txn_token_service listener authenticates its callers with mTLS: set tls with client_certificate: require");
            }
        }

        if (config.TxnTokens is { MintAtGateway: true } && !_listeners.Exists(l => l.Mode == ListenerMode.Gateway))
        {
            Warn(root, "txn_tokens.mint_at_gateway", "no gateway listener: mint_at_gateway has nothing to mint for");
        }
    }

    private static bool IsHeaderToken(string name)
    {
        foreach (var c in name)
        {
            // RFC 9110 §5.6.2 tchar.
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return name.Length > 0;
    }
}

/// <summary>Checks a Txn-Token signing key file against its algorithm (the same rules the key ring loads it with).</summary>
internal static class TxnSigningKeyFile
{
    /// <summary>Null when <paramref name="path"/> holds a private key usable with <paramref name="algorithm"/>; else why not.</summary>
    public static string? Validate(string path, string algorithm)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "cannot read the key file: " + ex.Message;
        }

        return Check(pem, algorithm);
    }

    /// <summary>The same check on PEM text.</summary>
    public static string? Check(string pem, string algorithm)
    {
        if (algorithm.StartsWith("ES", StringComparison.Ordinal))
        {
            using var ec = ECDsa.Create();
            try
            {
                ec.ImportFromPem(pem);
                // A public key imports too, and would fail at the first signature: ask for the private part now.
                _ = ec.ExportParameters(includePrivateParameters: true);
                var want = algorithm switch { "ES256" => 256, "ES384" => 384, _ => 521 };
                return ec.KeySize == want ? null : $"{algorithm} needs a P-{want} key; the file holds a {ec.KeySize}-bit EC key";
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
                return $"no EC private key (PEM) in the file, which {algorithm} needs";
            }
        }

        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            _ = rsa.ExportParameters(includePrivateParameters: true);
            return rsa.KeySize >= 2048 ? null : $"the RSA key has {rsa.KeySize} bits; at least 2048 are needed";
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            return $"no RSA private key (PEM) in the file, which {algorithm} needs";
        }
    }
}
