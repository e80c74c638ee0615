using System.Security.Cryptography;
using System.Text;

namespace OrderProcessing.Tests.Notifications;

/// <summary>
/// An independent SigV4 verifier written from the specification, used only to check what the production
/// code signs with AWSSDK.Core. It is itself held to AWS's published test-suite signatures.
/// </summary>
internal static class SigV4Reference
{
    public static string Signature(HttpMethod method, Uri uri, IReadOnlyDictionary<string, string> headers, IReadOnlyList<string> signedHeaders,
        byte[] body, string secretKey, string region, string service)
    {
        var amzDate = headers.First(h => h.Key.Equals("x-amz-date", StringComparison.OrdinalIgnoreCase)).Value;
        var date = amzDate[..8];
        var payloadHash = headers.FirstOrDefault(h => h.Key.Equals("x-amz-content-sha256", StringComparison.OrdinalIgnoreCase)).Value
            ?? Hex(SHA256.HashData(body));
        var canonicalHeaders = string.Concat(signedHeaders.Select(name =>
            $"{name}:{headers.First(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value.Trim()}\n"));
        var canonicalQuery = string.Join('&', (uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => p.Split('=', 2)).Select(p => (Key: p[0], Value: p.Length > 1 ? p[1] : ""))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));
        // Every service but S3 encodes each path segment of the (already encoded) path once more.
        var canonicalPath = string.Join('/', uri.AbsolutePath.Split('/').Select(Uri.EscapeDataString));
        var canonicalRequest = string.Join('\n',
            method.Method, canonicalPath, canonicalQuery, canonicalHeaders, string.Join(';', signedHeaders), payloadHash);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), date), region), service), "aws4_request");
        return Hex(Hmac(key, stringToSign));
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
