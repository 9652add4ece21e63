namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// The last check on every header value an ext_authz answer carries (claim headers, the reason, the challenge): only
/// visible ASCII and SP (RFC 9110 §5.5 field-vchar without obs-text) leave; any other character becomes '?'. A CR/LF
/// must never reach Envoy (header injection upstream), and Kestrel refuses control and non-ASCII characters in
/// response headers by throwing — a 500, which Envoy's failure_mode_allow turns into an allow. The engine already
/// cleans claim values; this keeps the invariant where the bytes are written.
/// </summary>
internal static class SafeHeaderValue
{
    public static string Of(string value)
    {
        var index = IndexOfUnsafe(value);
        if (index < 0)
        {
            return value;
        }

        return string.Create(value.Length, (value, index), static (span, state) =>
        {
            state.value.AsSpan().CopyTo(span);
            for (var i = state.index; i < span.Length; i++)
            {
                if (span[i] is < ' ' or > '~')
                {
                    span[i] = '?';
                }
            }
        });
    }

    private static int IndexOfUnsafe(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] is < ' ' or > '~')
            {
                return i;
            }
        }

        return -1;
    }
}
