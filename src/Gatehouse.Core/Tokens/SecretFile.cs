namespace Gatehouse.Tokens;

/// <summary>
/// A secret kept in a file (HMAC secret, client secrets, the console secret): re-read when the file's timestamp or size
/// changes, one trailing newline trimmed. The secret never appears in logs or errors.
/// </summary>
public sealed class SecretFile(string path)
{
    private readonly Lock _gate = new();
    private DateTime _stamp;
    private long _length = -1;
    private string? _value;

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>The current secret, or null with a reason.</summary>
    public string? Read(out string? error)
    {
        try
        {
            var info = new FileInfo(Path);
            if (!info.Exists)
            {
                error = "the secret file does not exist";
                return null;
            }

            lock (_gate)
            {
                if (info.LastWriteTimeUtc != _stamp || info.Length != _length || _value is null)
                {
                    _value = File.ReadAllText(Path).TrimEnd('\r', '\n');
                    _stamp = info.LastWriteTimeUtc;
                    _length = info.Length;
                }

                error = _value.Length == 0 ? "the secret file is empty" : null;
                return error is null ? _value : null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            return null;
        }
    }
}
