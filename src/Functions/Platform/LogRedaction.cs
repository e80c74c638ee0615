using System.Text.RegularExpressions;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// The last guard against credentials in logs: whatever a log line quotes (a request URL with <c>?token=</c>, an
/// Authorization header, an exception message that echoes its input), bearer tokens, JWTs and the values of
/// token, secret and password parameters are replaced before the line is written. Our own log calls name
/// tokens only by their id (jti) and clients by their id.
/// </summary>
public static partial class LogRedaction
{
    public const string Mask = "[REDACTED]";

    public static string Redact(string text)
    {
        if (text.Length == 0)
        {
            return text;
        }

        text = Parameter().Replace(text, m => m.Groups["name"].Value + m.Groups["sep"].Value + Mask);
        text = Scheme().Replace(text, m => m.Groups["scheme"].Value + " " + Mask);
        return Jwt().Replace(text, Mask);
    }

    // token=..., access_token=..., refresh_token=..., client_secret=... (query strings, forms), "clientSecret":"..." (JSON).
    [GeneratedRegex("""(?<name>\b(?:access_?token|refresh_?token|id_?token|token|client_?secret|secret|password))(?<sep>=|"\s*:\s*")[^&\s",;}]+""",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();

    [GeneratedRegex(@"(?<scheme>\b(?:Bearer|Basic))\s+[A-Za-z0-9\-._~+/]+=*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Scheme();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();
}
