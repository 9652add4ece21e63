using System.CommandLine;
using System.Net.Http.Headers;
using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Demo;

/// <summary>
/// <c>gatehouse demo [--once]</c>: the embedded default. Starts a development issuer, a sample upstream and a
/// gateway with a sample policy in one process, then prints a guided tour (or, with <c>--once</c>, runs it and
/// exits 0 only if every step behaved as expected).
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var once = new Option<bool>("--once") { Description = "Run the tour non-interactively and exit: 0 when every step behaved as expected." };
        var directory = new Option<DirectoryInfo?>("--dir") { Description = "Where to write the demo config and audit log (default: a new temporary directory)." };
        var command = new Command("demo", "Run the embedded demo: issuer, sample service, gateway, guided tour.") { once, directory };
        command.SetAction(async (parse, cancellationToken) =>
            await RunAsync(parse.GetValue(once), parse.GetValue(directory), Console.Out, cancellationToken).ConfigureAwait(false));
        return command;
    }

    internal static async Task<int> RunAsync(bool once, DirectoryInfo? directory, TextWriter output, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var dir = directory?.FullName ?? Path.Combine(Path.GetTempPath(), "gatehouse-demo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);

        await using var issuer = await DevIssuer.StartAsync(new Dictionary<string, (string, string[])>
        {
            ["reader"] = ("reader-secret", ["orders.read"]),
            ["writer"] = ("writer-secret", ["orders.read", "orders.write"]),
            // The workloads' own clients: each sidecar exchanges the caller's token for a payments token (RFC 8693).
            ["orders"] = ("orders-secret", [DevIssuer.ExchangeScope]),
            ["catalog"] = ("catalog-secret", [DevIssuer.ExchangeScope]),
        }, time).ConfigureAwait(false);
        await using var upstream = await SampleUpstream.StartAsync().ConfigureAwait(false);
        await using var payments = await SampleUpstream.StartAsync("payments").ConfigureAwait(false);

        var pki = DemoPki.Create(Path.Combine(dir, "pki"), time);
        var secrets = Path.Combine(dir, "secrets");
        Directory.CreateDirectory(secrets);
        await File.WriteAllTextAsync(Path.Combine(secrets, "orders"), "orders-secret", cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(secrets, "catalog"), "catalog-secret", cancellationToken).ConfigureAwait(false);
        var configPath = Path.Combine(dir, "gatehouse.yaml");
        var txnKeys = DemoTxnKeys.Create(Path.Combine(dir, "keys"));
        var hop = new DemoHop(payments.Address, FreeLoopbackPort(), secrets, txnKeys);
        await File.WriteAllTextAsync(configPath, DemoConfig(issuer.Issuer, upstream.Address, Path.Combine(dir, "audit.jsonl"), pki, hop), cancellationToken).ConfigureAwait(false);
        var load = ConfigLoader.LoadFile(configPath);
        if (!load.IsValid)
        {
            foreach (var error in load.Errors)
            {
                await output.WriteLineAsync(error.ToString()).ConfigureAwait(false);
            }
            return 2;
        }

        await using var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            ConfigPath = configPath,
            ReferencedFiles = load.ReferencedFiles,
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(o => o.SingleLine = true),
        }, cancellationToken).ConfigureAwait(false);
        if (!await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false))
        {
            await output.WriteLineAsync("demo: the gateway did not load the issuer's keys within 10 s").ConfigureAwait(false);
            return 2;
        }

        upstream.PaymentsVia = server.GetListenerUri("orders-out");
        var catalogOut = server.GetListenerUri("catalog-out").ToString().TrimEnd('/');
        var gateway = server.GetListenerUri("edge").ToString().TrimEnd('/');
        var admin = server.GetListenerUri("admin").ToString().TrimEnd('/');
        var mesh = "https://localhost:" + server.GetListenerUri("mesh").Port;
        var ordersSidecar = server.GetListenerUri("orders-in").ToString().TrimEnd('/');
        var readToken = issuer.Mint("reader", "orders.read", time.GetUtcNow(), TimeSpan.FromMinutes(30));
        var writeToken = issuer.Mint("writer", "orders.read orders.write", time.GetUtcNow(), TimeSpan.FromMinutes(30));
        var expiredToken = issuer.Mint("reader", "orders.read", time.GetUtcNow().AddHours(-2), TimeSpan.FromMinutes(5));

        var steps = new List<TourStep>
        {
            new("No token: the gateway asks for one", "GET", "/orders", null, 401, "token.missing"),
            new("Wrong scope: a reader may not create orders", "POST", "/orders", readToken, 403, "scope.missing:orders.write"),
            new("Right scope: a reader may list orders", "GET", "/orders", readToken, 200, null),
            new("A writer may create orders", "POST", "/orders", writeToken, 200, null),
            new("Expired token", "GET", "/orders", expiredToken, 401, "token.expired"),
            new("Tampered token (one payload character changed)", "GET", "/orders", Tamper(readToken), 401, null),
            new("Deny beats allow: nobody reaches /orders/admin", "GET", "/orders/admin/export", writeToken, 403, "policy.deny_matched:block-admin/rule0"),
            new("Path tricks are normalized first: /orders/../orders/admin is still /orders/admin", "GET", "/orders/%2e%2e/orders/admin/export", writeToken, 403, "policy.deny_matched:block-admin/rule0"),
            new("Encoded slashes are refused", "GET", "/orders%2Fadmin", writeToken, 400, "request.path_ambiguous"),
            new("A public route needs no token", "GET", "/public/status", null, 200, null),
        };

        await output.WriteLineAsync($"""
            Gatehouse demo
              issuer    {issuer.Issuer}   (discovery, JWKS, client-credentials token endpoint; fresh key {issuer.KeyId})
              upstream  {upstream.Address}   (a sample 'orders' service that echoes what it receives)
              gateway   {gateway}
              mesh      {mesh}   (sidecar inbound: mTLS with SPIFFE workload certificates from {pki.Directory})
              admin     {admin}/readyz  {admin}/metrics  {admin}/config
              config    {configPath}   (edit it: the gateway reloads on save)
              audit     {Path.Combine(dir, "audit.jsonl")}

            """).ConfigureAwait(false);

        if (!once)
        {
            await output.WriteLineAsync("Get a token from the issuer (client credentials):").ConfigureAwait(false);
            await output.WriteLineAsync($"  TOKEN=$(curl -s -u reader:reader-secret -d grant_type=client_credentials {issuer.Issuer}/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')").ConfigureAwait(false);
            await output.WriteLineAsync().ConfigureAwait(false);
            await output.WriteLineAsync("Or use these (real tokens, valid for 30 minutes; paste them into your shell first):").ConfigureAwait(false);
            var variables = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [readToken] = "READER",
                [writeToken] = "WRITER",
                [expiredToken] = "EXPIRED",
                [steps[5].Token!] = "TAMPERED",
            };
            foreach (var (token, name) in variables)
            {
                await output.WriteLineAsync($"  {name}='{token}'").ConfigureAwait(false);
            }
            await output.WriteLineAsync().ConfigureAwait(false);
            await output.WriteLineAsync("Then try each step of the tour:").ConfigureAwait(false);
            foreach (var step in steps)
            {
                await output.WriteLineAsync($"  # {step.Title} -> expect {step.ExpectedStatus}").ConfigureAwait(false);
                var auth = step.Token is null ? "" : $" -H \"Authorization: Bearer ${variables[step.Token]}\"";
                await output.WriteLineAsync($"  curl -si --path-as-is -X {step.Method}{auth} '{gateway}{step.Path}'").ConfigureAwait(false);
            }
            await output.WriteLineAsync().ConfigureAwait(false);
            await output.WriteLineAsync("mTLS: only the checkout workload may POST /payments (with an orders.write token):").ConfigureAwait(false);
            await output.WriteLineAsync($"  curl -si --cacert {pki.Bundle} --cert {pki.Checkout.Certificate} --key {pki.Checkout.Key} -X POST -H \"Authorization: Bearer $WRITER\" {mesh}/payments   # 200").ConfigureAwait(false);
            await output.WriteLineAsync($"  curl -si --cacert {pki.Bundle} --cert {pki.Catalog.Certificate} --key {pki.Catalog.Key} -X POST -H \"Authorization: Bearer $WRITER\" {mesh}/payments   # 403: wrong workload").ConfigureAwait(false);
            await output.WriteLineAsync($"  curl -si --cacert {pki.Bundle} -X POST -H \"Authorization: Bearer $WRITER\" {mesh}/payments   # refused in the TLS handshake: no client certificate").ConfigureAwait(false);
            await output.WriteLineAsync().ConfigureAwait(false);
            await output.WriteLineAsync("Every hop carries identity: orders calls payments through its outbound sidecar, which exchanges the").ConfigureAwait(false);
            await output.WriteLineAsync("caller's token (RFC 8693) for one with aud=payments and act={sub: orders}, over mTLS as orders:").ConfigureAwait(false);
            await output.WriteLineAsync($"  curl -s -X POST -H \"Authorization: Bearer $WRITER\" {gateway}/orders/7/pay   # 200: payments saw x-gatehouse-actor: orders").ConfigureAwait(false);
            await output.WriteLineAsync($"  curl -si -X POST -H 'Host: payments.demo.local' -H \"Authorization: Bearer $WRITER\" {catalogOut}/payments/charge   # 403: payments refuses the actor catalog").ConfigureAwait(false);
            await output.WriteLineAsync().ConfigureAwait(false);
            await output.WriteLineAsync("Transaction Tokens: the gateway mints one per allowed request; orders receives it in txn-token (the echo shows it),").ConfigureAwait(false);
            await output.WriteLineAsync("and orders' inbound sidecar accepts it only for transactions started at the orders route:").ConfigureAwait(false);
            await output.WriteLineAsync($"  TXN=$(curl -s -H \"Authorization: Bearer $READER\" {gateway}/orders | sed 's/.*\"txn-token\":\"\\([^\"]*\\)\".*/\\1/')").ConfigureAwait(false);
            await output.WriteLineAsync($"  curl -si -H \"txn-token: $TXN\" {ordersSidecar}/orders   # 200; the keys: {admin}/.well-known/jwks.json").ConfigureAwait(false);
            await output.WriteLineAsync().ConfigureAwait(false);
            await output.WriteLineAsync($"Explain a decision offline:  gatehouse explain -c {configPath} --request 'POST {gateway}/orders' --token \"$READER\"").ConfigureAwait(false);
            await output.WriteLineAsync($"Summarize the audit trail:   gatehouse audit summarize {Path.Combine(dir, "audit.jsonl")}").ConfigureAwait(false);
            await output.WriteLineAsync("Press Ctrl+C to stop.").ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var failures = 0;
        var number = 0;
        foreach (var step in steps)
        {
            number++;
            using var request = new HttpRequestMessage(new HttpMethod(step.Method), gateway + step.Path);
            if (step.Token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", step.Token);
            }
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var reason = response.Headers.TryGetValues("x-gatehouse-reason", out var values) ? values.First() : null;
            var ok = (int)response.StatusCode == step.ExpectedStatus && (step.ExpectedReason is null || step.ExpectedReason == reason);
            if (!ok)
            {
                failures++;
            }
            var got = $"{(int)response.StatusCode}{(reason is null ? "" : " " + reason)}";
            await output.WriteLineAsync($"{(ok ? "PASS" : "FAIL")} {number,2}. {step.Title}: {step.Method} {step.Path} -> {got} (expected {step.ExpectedStatus}{(step.ExpectedReason is null ? "" : " " + step.ExpectedReason)})").ConfigureAwait(false);
        }

        // The token endpoint itself, end to end: client credentials → token → gateway.
        number++;
        var issued = await FetchTokenAsync(client, issuer.Issuer, "reader", "reader-secret", cancellationToken).ConfigureAwait(false);
        using (var request = new HttpRequestMessage(HttpMethod.Get, gateway + "/orders"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", issued);
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var ok = issued is not null && (int)response.StatusCode == 200;
            failures += ok ? 0 : 1;
            await output.WriteLineAsync($"{(ok ? "PASS" : "FAIL")} {number,2}. Token from the issuer's token endpoint (client credentials) is accepted: GET /orders -> {(int)response.StatusCode}").ConfigureAwait(false);
        }

        foreach (var (title, identity, expected) in new (string, DemoPki.Workload?, int)[]
        {
            ("mTLS: the checkout workload may POST /payments", pki.Checkout, 200),
            ("mTLS: another workload (catalog) with the same token is refused", pki.Catalog, 403),
            ("mTLS: a certificate from another CA fails the handshake", pki.Rogue, 0),
            ("mTLS: no client certificate fails the handshake", null, 0),
        })
        {
            number++;
            var got = await MtlsStatusAsync(mesh + "/payments", pki, identity, writeToken, cancellationToken).ConfigureAwait(false);
            var ok = got == expected;
            failures += ok ? 0 : 1;
            await output.WriteLineAsync($"{(ok ? "PASS" : "FAIL")} {number,2}. {title}: POST /payments -> {(got == 0 ? "handshake refused" : got.ToString(System.Globalization.CultureInfo.InvariantCulture))} (expected {(expected == 0 ? "handshake refused" : expected.ToString(System.Globalization.CultureInfo.InvariantCulture))})").ConfigureAwait(false);
        }

        // The hop: gateway → orders → (outbound sidecar: RFC 8693 exchange + mTLS) → payments.
        number++;
        var (hopOk, hopGot) = await HopAsync(client, gateway + "/orders/7/pay", null, writeToken, cancellationToken).ConfigureAwait(false);
        failures += hopOk ? 0 : 1;
        await output.WriteLineAsync($"{(hopOk ? "PASS" : "FAIL")} {number,2}. Hop: orders calls payments through its sidecar; the token is exchanged (aud=payments, act.sub=orders): POST /orders/7/pay -> {hopGot}").ConfigureAwait(false);

        number++;
        var (deniedOk, deniedGot) = await DeniedActorAsync(client, catalogOut + "/payments/charge", writeToken, cancellationToken).ConfigureAwait(false);
        failures += deniedOk ? 0 : 1;
        await output.WriteLineAsync($"{(deniedOk ? "PASS" : "FAIL")} {number,2}. Denied actor: catalog's sidecar exchanges the same user token (act.sub=catalog); payments refuses it: -> {deniedGot} (expected 403 policy.no_allow_match)").ConfigureAwait(false);

        number++;
        using (var request = new HttpRequestMessage(HttpMethod.Post, catalogOut + "/payments/charge"))
        {
            request.Headers.Host = "payments.demo.local";
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var reason = response.Headers.TryGetValues("x-gatehouse-reason", out var values) ? values.First() : null;
            var ok = (int)response.StatusCode == 401 && reason == "token.missing";
            failures += ok ? 0 : 1;
            await output.WriteLineAsync($"{(ok ? "PASS" : "FAIL")} {number,2}. No user token, nothing to exchange: the sidecar answers 401 and sends nothing -> {(int)response.StatusCode} {reason}").ConfigureAwait(false);
        }

        // Transaction Tokens: minted at the gateway, verified with the published JWKS, checked by orders' sidecar.
        var (minted, mintGot) = await MintedTxnTokenAsync(client, gateway + "/orders", readToken, admin + "/.well-known/jwks.json", cancellationToken).ConfigureAwait(false);
        number++;
        failures += minted is not null ? 0 : 1;
        await output.WriteLineAsync($"{(minted is not null ? "PASS" : "FAIL")} {number,2}. Txn-Token minted at the gateway: orders receives txn-token (typ txntoken+jwt, signature checked with the JWKS on the admin listener): GET /orders -> {mintGot}").ConfigureAwait(false);
        foreach (var (title, value, expected, expectedReason) in new (string, string?, int, string?)[]
        {
            ("Txn-Token checked at orders' inbound sidecar (kind: txn_token issuer; policy on claims.tctx.route)", minted, 200, null),
            ("A forged Txn-Token (one payload character changed) is refused at the sidecar", minted is null ? null : Tamper(minted), 401, null),
            ("No Txn-Token: the sidecar asks for one", null, 401, "token.missing"),
        })
        {
            number++;
            using var request = new HttpRequestMessage(HttpMethod.Get, ordersSidecar + "/orders");
            if (value is not null)
            {
                request.Headers.TryAddWithoutValidation("txn-token", value);
            }
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var reason = response.Headers.TryGetValues("x-gatehouse-reason", out var values) ? values.First() : null;
            var ok = (int)response.StatusCode == expected && (expectedReason is null || reason == expectedReason) && (minted is not null || value is null);
            failures += ok ? 0 : 1;
            await output.WriteLineAsync($"{(ok ? "PASS" : "FAIL")} {number,2}. {title}: GET /orders -> {(int)response.StatusCode}{(reason is null ? "" : " " + reason)} (expected {expected})").ConfigureAwait(false);
        }

        await output.WriteLineAsync(failures == 0
            ? $"demo: all {number} steps behaved as expected"
            : $"demo: {failures} of {number} steps did not behave as expected").ConfigureAwait(false);
        return failures == 0 ? 0 : 1;
    }

    // POST through the gateway to orders, which calls payments: payments must have seen the exchanged token's claims.
    private static async Task<(bool Ok, string Got)> HopAsync(HttpClient client, string url, string? host, string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        if (host is not null)
        {
            request.Headers.Host = host;
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            var seen = json.RootElement.GetProperty("payments").GetProperty("headers");
            string Seen(string name) => seen.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
            var got = $"{(int)response.StatusCode}; payments saw sub={Seen("x-gatehouse-subject")} aud={Seen("x-gatehouse-audience")} act.sub={Seen("x-gatehouse-actor")}";
            return ((int)response.StatusCode == 200 && Seen("x-gatehouse-actor") == "orders" && Seen("x-gatehouse-audience") == DevIssuer.ExchangeAudience && Seen("x-gatehouse-subject") == "writer", got);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (false, $"{(int)response.StatusCode} {body}");
        }
    }

    // GET through the gateway: the echo shows the txn-token orders received; it must verify with the published JWKS.
    private static async Task<(string? Token, string Got)> MintedTxnTokenAsync(HttpClient client, string url, string token, string jwksUrl, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            if (!json.RootElement.GetProperty("headers").TryGetProperty("txn-token", out var header) || header.GetString() is not { } txn)
            {
                return (null, $"{(int)response.StatusCode}, no txn-token");
            }

            var jwks = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await client.GetStringAsync(jwksUrl, cancellationToken).ConfigureAwait(false));
            var result = await new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().ValidateTokenAsync(txn, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
            {
                ValidIssuer = DemoTxnKeys.Issuer,
                ValidAudience = DemoTxnKeys.TrustDomain,
                IssuerSigningKeys = jwks.GetSigningKeys(),
                ValidTypes = [Gatehouse.Tokens.TxnTokens.TxnTokenProtocol.JwtType],
            }).ConfigureAwait(false);
            var claims = (Microsoft.IdentityModel.JsonWebTokens.JsonWebToken?)result.SecurityToken;
            var scope = claims?.GetPayloadValue<string>("scope");
            var route = claims is null ? null : System.Text.Json.JsonDocument.Parse(claims.GetPayloadValue<System.Text.Json.JsonElement>("tctx").GetRawText()).RootElement.GetProperty("route").GetString();
            var forwarded = json.RootElement.GetProperty("authorization_forwarded").GetBoolean();
            var got = $"{(int)response.StatusCode}; valid={result.IsValid} scope={scope} tctx.route={route} Authorization forwarded={forwarded} (route sets forward_authorization)";
            return ((int)response.StatusCode == 200 && result.IsValid && scope == "orders.read" && route == "orders" ? txn : null, got);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return (null, $"{(int)response.StatusCode} {e.Message}");
        }
    }

    private static async Task<(bool Ok, string Got)> DeniedActorAsync(HttpClient client, string url, string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.Host = "payments.demo.local";
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var reason = response.Headers.TryGetValues("x-gatehouse-reason", out var values) ? values.First() : null;
        return ((int)response.StatusCode == 403 && reason == "policy.no_allow_match", $"{(int)response.StatusCode} {reason}");
    }

    private static int FreeLoopbackPort()
    {
        // Note: the orders sidecar's upstream is payments' inbound listener, so its port must be known when the config
        // is written (the other listeners use port 0).
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Where the demo's service-to-service hop goes: the payments service, its inbound port, the client secrets.</summary>
    internal sealed record DemoHop(string PaymentsUpstream, int PaymentsPort, string SecretsDirectory, DemoTxnKeys TxnKeys);

    private static async Task<string?> FetchTokenAsync(HttpClient client, string issuer, string id, string secret, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, issuer + "/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{id}:{secret}")));
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return json.RootElement.TryGetProperty("access_token", out var token) ? token.GetString() : null;
    }

    // Sends one request over mTLS; 0 means the TLS handshake was refused.
    private static async Task<int> MtlsStatusAsync(string url, DemoPki pki, DemoPki.Workload? identity, string token, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions.RemoteCertificateValidationCallback = pki.ValidateServer;
        if (identity is not null)
        {
            handler.SslOptions.ClientCertificates = [identity.Load()];
        }
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    // Flips one character in the middle of the payload: the signature no longer matches.
    private static string Tamper(string token)
    {
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var index = first + 5;
        var chars = token.ToCharArray();
        chars[index] = chars[index] == 'A' ? 'B' : 'A';
        return new string(chars);
    }

    internal static string DemoConfig(string issuer, string upstream, string auditPath, DemoPki pki, DemoHop hop) => $$"""
        # Written by `gatehouse demo`. Edit and save: the gateway reloads it (an invalid edit is rejected and logged).
        version: 1
        issuers:
          demo:
            issuer: {{issuer}}
            discovery: true
            audiences: [orders]
            algorithms: [RS256]
            require_type: at+jwt
            clock_skew: 30s
          demo-txn:                     # the Txn-Tokens the gateway mints, as orders' sidecar sees them
            kind: txn_token
            issuer: {{DemoTxnKeys.Issuer}}
            jwks_file: {{hop.TxnKeys.JwksFile}}
            audiences: [{{DemoTxnKeys.TrustDomain}}]
            algorithms: [ES256]
          demo-payments:                # the same issuer, as payments sees it: tokens exchanged for aud=payments
            issuer: {{issuer}}
            discovery: true
            audiences: [payments]
            algorithms: [RS256]
            require_type: at+jwt
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0", include_error_details: true, routes: [orders, public, payments] }
          # orders' and catalog's outbound sidecars: the apps call http://127.0.0.1:PORT with Host payments.demo.local
          - { name: orders-out, mode: outbound, address: "127.0.0.1:0", include_error_details: true, routes: [orders-to-payments] }
          - { name: catalog-out, mode: outbound, address: "127.0.0.1:0", include_error_details: true, routes: [catalog-to-payments] }
          - name: payments-in           # payments' inbound sidecar
            mode: inbound
            address: "127.0.0.1:{{hop.PaymentsPort}}"
            include_error_details: true
            routes: [payments-charge]
            tls:
              certificate: {{pki.Payments.Certificate}}
              key: {{pki.Payments.Key}}
              client_certificate: require
              trust_bundles: { demo.local: {{pki.Bundle}} }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
          - { name: orders-in, mode: inbound, address: "127.0.0.1:0", include_error_details: true, routes: [orders-txn] }   # orders' inbound sidecar: Txn-Tokens only
          - name: mesh
            mode: inbound
            address: "127.0.0.1:0"
            include_error_details: true
            routes: [payments]
            tls:
              certificate: {{pki.Gateway.Certificate}}
              key: {{pki.Gateway.Key}}
              client_certificate: require
              trust_bundles: { demo.local: {{pki.Bundle}} }
        routes:
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { issuers: [demo], require_token: true, forward_authorization: true }   # orders exchanges it to call payments
            claim_headers: { x-gatehouse-client: client_id, x-gatehouse-scopes: scope }
            policies: [orders-read, orders-write, block-admin]
          - name: public
            match: { path_prefix: /public }
            upstream: {{upstream}}
            authentication: { issuers: [demo], require_token: false }
          - name: payments
            match: { path_prefix: /payments }
            upstream: {{upstream}}
            authentication: { issuers: [demo], require_token: true }
            policies: [payments-callers]
          - name: orders-to-payments
            match: { hosts: [payments.demo.local] }
            upstream: https://127.0.0.1:{{hop.PaymentsPort}}
            authentication: { issuers: [demo], require_token: true }
            outbound:
              client_certificate: {{pki.Orders.Certificate}}
              client_key: {{pki.Orders.Key}}
              trust_bundle: {{pki.Bundle}}
              expected_peer: {{DemoPki.PaymentsId}}
              token:
                mode: exchange            # RFC 8693: the caller's token for one narrowed to payments
                issuer: demo
                client_id: orders
                client_secret_file: {{Path.Combine(hop.SecretsDirectory, "orders")}}
                audience: payments
                scopes: [payments.charge]
                actor: client_credentials # the exchanged token's act names orders
          - name: catalog-to-payments
            match: { hosts: [payments.demo.local] }
            upstream: https://127.0.0.1:{{hop.PaymentsPort}}
            authentication: { issuers: [demo], require_token: true }
            outbound:
              client_certificate: {{pki.Catalog.Certificate}}
              client_key: {{pki.Catalog.Key}}
              trust_bundle: {{pki.Bundle}}
              expected_peer: {{DemoPki.PaymentsId}}
              token:
                mode: exchange
                issuer: demo
                client_id: catalog
                client_secret_file: {{Path.Combine(hop.SecretsDirectory, "catalog")}}
                audience: payments
                scopes: [payments.charge]
                actor: client_credentials
          - name: orders-txn
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { issuers: [demo-txn], require_token: true }
            policies: [started-at-orders]
          - name: payments-charge
            match: { path_prefix: /payments/charge }
            upstream: {{hop.PaymentsUpstream}}
            authentication: { issuers: [demo-payments], require_token: true }
            claim_headers: { x-gatehouse-subject: sub, x-gatehouse-audience: aud, x-gatehouse-actor: act.sub }
            policies: [payments-actors]
        policies:
          started-at-orders:            # only transactions the gateway started at its orders route
            action: allow
            rules:
              - when: { "claims.tctx.route": [orders] }
          payments-actors:              # only orders may charge on a customer's behalf
            action: allow
            rules:
              - from: { namespaces: [shop] }
                when: { scopes: [payments.charge], "claims.act.sub": [orders] }
          payments-callers:
            action: allow
            rules:
              - from: { principals: ["spiffe://demo.local/ns/shop/sa/checkout"] }
                to: { methods: [POST] }
                when: { scopes: [orders.write] }
          orders-read:
            action: allow
            rules:
              - to: { methods: [GET, HEAD], paths: ["/orders", "/orders/*"] }
                when: { scopes: [orders.read] }
          orders-write:
            action: allow
            rules:
              - to: { methods: [POST, PUT, DELETE], paths: ["/orders", "/orders/*"] }
                when: { scopes: [orders.write] }
          block-admin:
            action: deny
            rules:
              - to: { paths: ["/orders/admin/*"] }
        txn_tokens:                     # Transaction Tokens (docs/txn-tokens.md)
          issuer: {{DemoTxnKeys.Issuer}}
          audience: {{DemoTxnKeys.TrustDomain}}
          lifetime: 60s
          signing_key: { file: {{hop.TxnKeys.KeyFile}}, key_id: {{DemoTxnKeys.KeyId}}, algorithm: ES256 }
          mint_at_gateway: true
          workload: spiffe://demo.local/ns/edge/sa/gateway
        audit:
          path: {{auditPath}}
        """;

    private sealed record TourStep(string Title, string Method, string Path, string? Token, int ExpectedStatus, string? ExpectedReason);
}
