using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OrderProcessing.Functions.Delivery;

/// <summary>Why a webhook request's signature was accepted or refused.</summary>
public enum SignatureCheck
{
    Valid,
    NotConfigured,
    Missing,
    Malformed,
    OutsideWindow,
    Mismatch,
}

/// <summary>
/// The carrier webhook's signature: <c>X-Carrier-Timestamp: &lt;unix seconds&gt;</c> and
/// <c>X-Carrier-Signature: sha256=&lt;hex HMAC-SHA256(secret, timestamp + "." + raw body)&gt;</c>.
/// Signing the timestamp with the body binds the two, so an old request cannot be replayed with a fresh
/// timestamp; a request whose timestamp is more than five minutes from now (either way) is refused.
/// </summary>
public static class CarrierSignature
{
    public const string TimestampHeader = "X-Carrier-Timestamp";
    public const string SignatureHeader = "X-Carrier-Signature";
    public const string Scheme = "sha256=";
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    /// <summary>The header value for a body signed at <paramref name="timestamp"/> (unix seconds).</summary>
    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body) =>
        Scheme + Convert.ToHexStringLower(Mac(secret, timestamp.ToString(CultureInfo.InvariantCulture), body));

    public static SignatureCheck Verify(string secret, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body,
        DateTimeOffset now)
    {
        if (secret.Length == 0)
        {
            return SignatureCheck.NotConfigured;
        }

        if (string.IsNullOrEmpty(timestampHeader) || string.IsNullOrEmpty(signatureHeader))
        {
            return SignatureCheck.Missing;
        }

        if (!long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || !signatureHeader.StartsWith(Scheme, StringComparison.Ordinal)
            || signatureHeader.Length != Scheme.Length + 64)
        {
            return SignatureCheck.Malformed;
        }

        byte[] offered;
        try
        {
            offered = Convert.FromHexString(signatureHeader.AsSpan(Scheme.Length));
        }
        catch (FormatException)
        {
            return SignatureCheck.Malformed;
        }

        if (seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Window)
        {
            return SignatureCheck.OutsideWindow;
        }

        return CryptographicOperations.FixedTimeEquals(offered, Mac(secret, timestampHeader, body))
            ? SignatureCheck.Valid
            : SignatureCheck.Mismatch;
    }

    private static byte[] Mac(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(Encoding.UTF8.GetBytes(timestamp + "."));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }
}
