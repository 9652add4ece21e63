using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Gatehouse.Tokens.TxnTokens;

namespace Gatehouse.Benchmarks.Tokens;

/// <summary>
/// What a gateway with <c>txn_tokens.mint_at_gateway</c> adds per allowed request: one Txn-Token minted (payload
/// written, signed through Microsoft.IdentityModel's JsonWebTokenHandler) — ES256, the default, against RS256 — and
/// the scope narrowing and transaction id that go with it. docs/performance.md, "Txn-Token minting".
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ShortInProcessConfig))]
public class TxnTokenMintBenchmarks
{
    private string _directory = "";
    private TxnTokenRuntime _es256 = null!;
    private TxnTokenRuntime _rs256 = null!;
    private TxnTokenContent _content;
    private readonly HashSet<string> _held = new(["orders.read", "orders.write", "profile"], StringComparer.Ordinal);
    private readonly string[] _required = ["orders.read"];
    private readonly DateTimeOffset _now = DateTimeOffset.UnixEpoch.AddSeconds(1_800_000_000);

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("gatehouse-bench-txn-").FullName;
        using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(Path.Combine(_directory, "es.pem"), ec.ExportPkcs8PrivateKeyPem());
        }
        using (var rsa = RSA.Create(2048))
        {
            File.WriteAllText(Path.Combine(_directory, "rs.pem"), rsa.ExportPkcs8PrivateKeyPem());
        }
        _es256 = Runtime("es.pem", "ES256");
        _rs256 = Runtime("rs.pem", "RS256");
        _content = new TxnTokenContent
        {
            Subject = "248289761001",
            Scope = "orders.read",
            Transaction = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            RequestingWorkload = "spiffe://shop.example/ns/edge/sa/gateway",
            Gateway = new GatewayTransactionContext("203.0.113.7", "bearer", "web-client", "https", "GET", "/orders/7", "orders"),
        };
    }

    private TxnTokenRuntime Runtime(string file, string algorithm)
    {
        var config = new GatehouseConfig
        {
            TxnTokens = new TxnTokensConfig
            {
                Issuer = "https://txn.shop.example",
                Audience = "shop.example",
                SigningKeys = [new TxnSigningKeyConfig { File = Path.Combine(_directory, file), KeyId = "k1", Algorithm = algorithm, Active = true }],
            },
        };
        return TxnTokenRuntime.Create(config, new Dictionary<string, IssuerRuntime>(), out var error) ?? throw new InvalidOperationException(error);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(Baseline = true)]
    public string MintEs256() => _es256.Minter.Mint(_content, _now).Token;

    [Benchmark]
    public string MintRs256() => _rs256.Minter.Mint(_content, _now).Token;

    [Benchmark]
    public string NarrowScopeAndTxn() =>
        _es256.NarrowScope(_held, _required, null) + TxnTokenRequestProcessor.NewTransactionId("4bf92f3577b34da6a3ce929d0e0e4736");

    private sealed class ShortInProcessConfig : ManualConfig
    {
        // Note: BenchmarkDotNet's ShortRun (1 launch, 3 warm-ups, 3 iterations), in process: the generated project
        // does not build within BenchmarkDotNet's time limit on the shared 2-core box (see the DPoP benchmarks).
        public ShortInProcessConfig() => AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
    }
}
