using System.CommandLine;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse ca init|issue</c>: a development CA per SPIFFE trust domain and short-lived workload certificates
/// (EC P-256, URI SAN = SPIFFE ID), so mTLS can be tried in minutes. Production uses SPIRE, cert-manager or the mesh CA.
/// </summary>
internal static class CaCommand
{
    public static Command Create()
    {
        var command = new Command("ca", "Development CA: make a trust domain's CA and SPIFFE workload certificates.");
        command.Subcommands.Add(CreateInit());
        command.Subcommands.Add(CreateIssue());
        command.Subcommands.Add(CreateBundle());
        return command;
    }

    /// <summary>
    /// <c>gatehouse ca bundle</c>: the CA as a SPIFFE bundle (SPIFFE Trust Domain and Bundle spec §4: a JWKS with
    /// <c>use: x509-svid</c> keys), to serve from a development bundle endpoint for <c>tls.trust_bundles.TD.endpoint</c>.
    /// </summary>
    private static Command CreateBundle()
    {
        var caDir = new Option<DirectoryInfo>("--ca") { Description = "Directory made by `gatehouse ca init` (only its ca.pem is read).", Required = true };
        var sequence = new Option<long?>("--sequence") { Description = "spiffe_sequence: increase it whenever the bundle changes." };
        var refreshHint = new Option<int?>("--refresh-hint") { Description = "spiffe_refresh_hint in seconds." };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the bundle to this file instead of standard output." };
        var command = new Command("bundle", "Print the development CA as a SPIFFE bundle (JWKS) for a federation bundle endpoint.") { caDir, sequence, refreshHint, output };
        command.SetAction(parse =>
        {
            var file = Path.Combine(parse.GetValue(caDir)!.FullName, DevCertificateFiles.CaCertificateFile);
            if (!TrustBundleSet.TryLoadPemBundle(file, out var authorities, out var error))
            {
                Console.Error.WriteLine($"error: {error}");
                return ExitCodes.Error;
            }
            var hint = parse.GetValue(refreshHint) is { } seconds and > 0 ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
            var json = SpiffeBundleDocument.Create(authorities, parse.GetValue(sequence), hint) + "\n";
            if (parse.GetValue(output) is { } target)
            {
                File.WriteAllText(target.FullName, json);
                Console.Out.WriteLine($"SPIFFE bundle ({authorities.Count} X.509 authorit{(authorities.Count == 1 ? "y" : "ies")}): {target.FullName}");
            }
            else
            {
                Console.Out.Write(json);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateInit()
    {
        var trustDomain = new Option<string>("--trust-domain", "-d") { Description = "The SPIFFE trust domain, e.g. cluster.local.", DefaultValueFactory = _ => "cluster.local" };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Directory for ca.pem and ca_key.pem (0600).", Required = true };
        var days = new Option<int>("--days") { Description = "CA lifetime in days.", DefaultValueFactory = _ => 30 };
        var command = new Command("init", "Create a development CA for a trust domain.") { trustDomain, output, days };
        command.SetAction(parse =>
        {
            if (!DevCertificateAuthority.TryCreate(parse.GetValue(trustDomain)!, TimeProvider.System, new DevCaOptions { Lifetime = TimeSpan.FromDays(parse.GetValue(days)) }, out var ca, out var error))
            {
                Console.Error.WriteLine($"error: {error}");
                return ExitCodes.Error;
            }
            using (ca)
            {
                if (!DevCertificateFiles.TryWriteAuthority(ca, parse.GetValue(output)!.FullName, out var paths, out error))
                {
                    Console.Error.WriteLine($"error: {error}");
                    return ExitCodes.Error;
                }
                Console.Out.WriteLine($"CA for spiffe://{ca.TrustDomain}: {paths.Certificate} (trust bundle), key {paths.Key} (0600)");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateIssue()
    {
        var caDir = new Option<DirectoryInfo>("--ca") { Description = "Directory made by `gatehouse ca init`.", Required = true };
        var spiffeId = new Option<string>("--spiffe-id") { Description = "The workload's SPIFFE ID, e.g. spiffe://cluster.local/ns/shop/sa/checkout.", Required = true };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Directory for svid.pem, svid_key.pem (0600) and bundle.pem.", Required = true };
        var dns = new Option<string[]>("--dns") { Description = "Extra DNS SANs (repeatable), e.g. for a server certificate." };
        var hours = new Option<int>("--hours") { Description = "Lifetime in hours.", DefaultValueFactory = _ => 24 };
        var command = new Command("issue", "Issue a SPIFFE workload certificate signed by the development CA.") { caDir, spiffeId, output, dns, hours };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(caDir)!.FullName;
            if (!DevCertificateAuthority.TryLoad(Path.Combine(dir, DevCertificateFiles.CaCertificateFile), Path.Combine(dir, DevCertificateFiles.CaKeyFile), TimeProvider.System, out var ca, out var error))
            {
                Console.Error.WriteLine($"error: {error}");
                return ExitCodes.Error;
            }
            using (ca)
            {
                if (!SpiffeId.TryParse(parse.GetValue(spiffeId)!, out var id, out var reason))
                {
                    Console.Error.WriteLine($"error: --spiffe-id: {reason}");
                    return ExitCodes.Error;
                }
                var options = new WorkloadCertificateOptions { DnsNames = parse.GetValue(dns) ?? [], Lifetime = TimeSpan.FromHours(parse.GetValue(hours)) };
                if (!ca.TryIssueWorkload(id, options, out var issued, out error))
                {
                    Console.Error.WriteLine($"error: {error}");
                    return ExitCodes.Error;
                }
                using (issued)
                {
                    if (!DevCertificateFiles.TryWriteWorkload(issued, parse.GetValue(output)!.FullName, out var paths, out error))
                    {
                        Console.Error.WriteLine($"error: {error}");
                        return ExitCodes.Error;
                    }
                    Console.Out.WriteLine($"{id}: {paths.Certificate}, key {paths.Key} (0600), bundle {paths.Bundle}; valid until {issued.Certificate.NotAfter.ToUniversalTime():u}");
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
