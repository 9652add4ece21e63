using Microsoft.Playwright;

namespace Gatehouse.Tests.Console;

/// <summary>
/// A real headless Chromium (Debian's <c>chromium</c>, never a downloaded browser) driven by Playwright. Missing
/// Chromium fails the test with how to install it: a browser test that silently skips proves nothing.
/// </summary>
internal sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Instance = browser;
    }

    public IBrowser Instance { get; }

    /// <summary>Where screenshots go: a test artifact folder next to the test assembly.</summary>
    public static string ArtifactDirectory { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "console")).FullName;

    public static async Task<Browser> LaunchAsync()
    {
        var executable = Environment.GetEnvironmentVariable("GATEHOUSE_CHROMIUM") ?? "/usr/bin/chromium";
        Assert.True(File.Exists(executable), $"Chromium not found at {executable}: install Debian's chromium (apt-get install chromium) or set GATEHOUSE_CHROMIUM");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            // Note: containers and CI machines run as root without a user namespace sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            Timeout = 60_000,
        });
        return new Browser(playwright, browser);
    }

    public async ValueTask DisposeAsync()
    {
        await Instance.DisposeAsync();
        _playwright.Dispose();
    }
}
