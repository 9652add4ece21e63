using System.Net;
using System.Text;

namespace Gatehouse.Tests.Conformance;

/// <summary>
/// The provider is restarted with new keys while Gatehouse keeps serving (issue 3: "restart it with new keys and prove
/// tokens signed by the new key pass with no failed request in between"). Each test drives one sequential stream of
/// requests — during the outage, right after the restart, and with old and new tokens afterwards — and checks every
/// answer, so the order of events is fixed by the test, not by timing:
/// <list type="bullet">
/// <item>while the provider is down, tokens of the current keys keep passing (cached keys);</item>
/// <item>a token signed by a new key passes on its first request (unknown kid → one re-fetch, or, with the same kid,
/// a re-fetch when the signature does not verify) and every time after;</item>
/// <item>a token of an old key passes while its key is published and is refused (401 invalid_token) once the gateway
/// has seen a JWKS without it.</item>
/// </list>
/// </summary>
[Collection(ConformanceCollection.Name)]
public sealed class KeyRotationConformanceTests(OidcProviderFixture idp)
{
    private const int RoundsAfterRestart = 8;

    [Fact]
    public async Task Overlap_rotation_new_kids_with_previous_keys_still_published_fails_no_request()
    {
        var timeline = await RotateUnderLoadAsync(KeyRotation.NewKidsKeepPrevious);

        timeline.AssertNewTokensAlwaysPassed();
        timeline.AssertOldTokensAlwaysPassed("the previous keys are still in the JWKS");
    }

    [Fact]
    public async Task Rotation_to_new_kids_accepts_new_tokens_at_once_and_drops_the_removed_keys()
    {
        var timeline = await RotateUnderLoadAsync(KeyRotation.NewKids);

        timeline.AssertNewTokensAlwaysPassed();
        timeline.AssertOldTokensRefusedAfterTheGatewaySawTheNewJwks();
    }

    [Fact]
    public async Task Rotation_under_the_same_kids_per_the_peers_readme_accepts_new_tokens_with_no_failed_request()
    {
        // peers README "Key rotation": `node gen-keys.mjs <dir>` keeps kids rs-1/ec-1. Apache keeps its cached JWKS
        // (same kid) and answers 401 to the new tokens; Gatehouse must not.
        var timeline = await RotateUnderLoadAsync(KeyRotation.SameKids);

        timeline.AssertNewTokensAlwaysPassed();
        timeline.AssertOldTokensRefusedAfterTheGatewaySawTheNewJwks();
    }

    private async Task<Timeline> RotateUnderLoadAsync(KeyRotation rotation)
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var timeline = new Timeline(gateway, rotation);
        var previousKeys = idp.Keys;
        var oldRs = await idp.GetTokenAsync(OidcProviderFixture.ApiResource, "read");
        var oldEs = await idp.GetTokenAsync(OidcProviderFixture.ApiEsResource, "read");

        await timeline.SendAsync("before", "old RS256", oldRs, round: 0);
        await timeline.SendAsync("before", "old ES256", oldEs, round: 0);

        var newKeys = await idp.RestartWithNewKeysAsync(rotation, whileStopped: async () =>
        {
            for (var round = 0; round < 3; round++)
            {
                await timeline.SendAsync("provider down", "old RS256", oldRs, round);
                await timeline.SendAsync("provider down", "old ES256", oldEs, round);
            }
        });
        Assert.Equal(rotation == KeyRotation.SameKids, newKeys.RsKid == previousKeys.RsKid);

        var newRs = await idp.GetTokenAsync(OidcProviderFixture.ApiResource, "read");
        var newEs = await idp.GetTokenAsync(OidcProviderFixture.ApiEsResource, "read");
        for (var round = 0; round < RoundsAfterRestart; round++)
        {
            // Note: old tokens first in each round; in round 0 the gateway has not met a new-key token yet.
            await timeline.SendAsync("after restart", "old RS256", oldRs, round);
            await timeline.SendAsync("after restart", "old ES256", oldEs, round);
            await timeline.SendAsync("after restart", "new RS256", newRs, round);
            await timeline.SendAsync("after restart", "new ES256", newEs, round);
        }
        return timeline;
    }

    private sealed record Attempt(string Phase, string Token, int Round, int Status, string Challenge);

    private sealed class Timeline(ConformanceGateway gateway, KeyRotation rotation)
    {
        private readonly List<Attempt> _attempts = [];

        public async Task SendAsync(string phase, string label, string token, int round)
        {
            using var response = await gateway.GetAsync($"/api/rotation/{_attempts.Count}", token);
            var challenge = response.Headers.TryGetValues("WWW-Authenticate", out var values) ? string.Join(", ", values) : "";
            _attempts.Add(new Attempt(phase, label, round, (int)response.StatusCode, challenge));
        }

        public void AssertNewTokensAlwaysPassed()
        {
            AssertBeforeAndDuringOutagePassed();
            var failed = _attempts.Where(a => a.Token.StartsWith("new", StringComparison.Ordinal) && a.Status != 200).ToList();
            Assert.True(failed.Count == 0, $"{rotation}: {failed.Count} request(s) with a token of the new keys failed.\n{Describe()}");
        }

        public void AssertOldTokensAlwaysPassed(string because)
        {
            var failed = _attempts.Where(a => a.Token.StartsWith("old", StringComparison.Ordinal) && a.Status != 200).ToList();
            Assert.True(failed.Count == 0, $"{rotation}: {failed.Count} request(s) with an old-key token failed although {because}.\n{Describe()}");
        }

        public void AssertOldTokensRefusedAfterTheGatewaySawTheNewJwks()
        {
            // Round 0 sent a new RS256 token after the old ones: if it passed, the gateway holds the new JWKS from then on.
            var afterward = _attempts.Where(a => a.Phase == "after restart" && a.Round >= 1 && a.Token.StartsWith("old", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(afterward);
            var wrong = afterward.Where(a => a.Status != 401 || !a.Challenge.Contains("error=\"invalid_token\"", StringComparison.Ordinal)).ToList();
            Assert.True(wrong.Count == 0,
                $"{rotation}: an old-key token must be refused (401 invalid_token) at once when its key left the JWKS; {wrong.Count} were not.\n{Describe()}");
        }

        private void AssertBeforeAndDuringOutagePassed()
        {
            var failed = _attempts.Where(a => a.Phase != "after restart" && a.Status != 200).ToList();
            Assert.True(failed.Count == 0, $"{rotation}: tokens of the current keys must pass before the rotation and while the provider is down.\n{Describe()}");
        }

        private string Describe()
        {
            var text = new StringBuilder("timeline (phase | round | token | status | challenge):\n");
            foreach (var a in _attempts)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"  {a.Phase,-14}| {a.Round} | {a.Token,-10}| {a.Status} | {a.Challenge}\n");
            }
            text.Append("--- Gatehouse log (tail) ---\n").Append(ConformanceGateway.Tail(gateway.Log, 6000));
            return text.ToString();
        }
    }
}
