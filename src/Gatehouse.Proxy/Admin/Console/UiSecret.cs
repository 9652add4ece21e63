using System.Text;

namespace Gatehouse.Proxy.Admin.Console;

/// <summary>
/// The console secret from <c>admin.ui_token_file</c>, re-read when the file changes (a rotated Kubernetes Secret
/// takes effect without a restart). Null when the file cannot be read or is empty: the console then stays locked.
/// </summary>
internal static class UiSecret
{
    private static readonly Lock Gate = new();
    private static (string Path, DateTime Modified, byte[]? Secret) s_cached;

    public static byte[]? Read(string path)
    {
        try
        {
            var modified = File.GetLastWriteTimeUtc(path);
            lock (Gate)
            {
                if (s_cached.Path == path && s_cached.Modified == modified)
                {
                    return s_cached.Secret;
                }
            }

            var text = File.ReadAllText(path).Trim();
            var secret = text.Length == 0 ? null : Encoding.UTF8.GetBytes(text);
            lock (Gate)
            {
                s_cached = (path, modified, secret);
            }

            return secret;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
