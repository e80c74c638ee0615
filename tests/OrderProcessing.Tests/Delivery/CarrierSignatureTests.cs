using System.Text;
using OrderProcessing.Functions.Delivery;

namespace OrderProcessing.Tests.Delivery;

public sealed class CarrierSignatureTests
{
    private const string Secret = "test-carrier-secret";
    private const long Timestamp = 1764067800; // 2026-11-25T10:50:00Z
    private const string TimestampText = "1764067800";
    private static readonly DateTimeOffset SignedAt = DateTimeOffset.FromUnixTimeSeconds(Timestamp);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"trackingNumber":"OPABCDEFGH23456789","status":"DELIVERED","occurredAt":"2026-11-25T10:50:00Z","eventId":"evt-1"}""");

    // printf '%s' '1764067800.<body>' | openssl dgst -sha256 -hmac 'test-carrier-secret' -hex  (docs/delivery.md)
    private const string OpenSslSignature = "sha256=74ec31d18f6c397f99324f704bb799ebf8ca6d1f5c9103e50f3a2986b3d5b272";

    [Fact]
    public void The_signature_is_the_hex_HMAC_SHA256_of_timestamp_dot_body_as_openssl_computes_it() =>
        Assert.Equal(OpenSslSignature, CarrierSignature.Sign(Secret, Timestamp, Body));

    [Fact]
    public void A_correctly_signed_request_within_five_minutes_either_way_is_valid()
    {
        Assert.Equal(SignatureCheck.Valid, Verify(OpenSslSignature, SignedAt));
        Assert.Equal(SignatureCheck.Valid, Verify(OpenSslSignature, SignedAt.AddMinutes(5)));
        Assert.Equal(SignatureCheck.Valid, Verify(OpenSslSignature, SignedAt.AddMinutes(-5)));
    }

    [Fact]
    public void A_request_older_or_newer_than_five_minutes_is_refused_even_when_its_signature_is_right()
    {
        Assert.Equal(SignatureCheck.OutsideWindow, Verify(OpenSslSignature, SignedAt.AddMinutes(5).AddSeconds(1)));
        Assert.Equal(SignatureCheck.OutsideWindow, Verify(OpenSslSignature, SignedAt.AddMinutes(-5).AddSeconds(-1)));
    }

    [Fact]
    public void A_changed_body_timestamp_or_secret_does_not_verify()
    {
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body).Replace("DELIVERED", "FAILED", StringComparison.Ordinal));
        Assert.Equal(SignatureCheck.Mismatch, CarrierSignature.Verify(Secret, TimestampText, OpenSslSignature, tampered, SignedAt));
        Assert.Equal(SignatureCheck.Mismatch, CarrierSignature.Verify(Secret, "1764067801", OpenSslSignature, Body, SignedAt));
        Assert.Equal(SignatureCheck.Mismatch, CarrierSignature.Verify("other-secret", TimestampText, OpenSslSignature, Body, SignedAt));
    }

    [Theory]
    [InlineData(null, OpenSslSignature, SignatureCheck.Missing)]
    [InlineData("1764067800", null, SignatureCheck.Missing)]
    [InlineData("yesterday", OpenSslSignature, SignatureCheck.Malformed)]
    [InlineData("-1764067800", OpenSslSignature, SignatureCheck.Malformed)]
    [InlineData("1764067800", "74ec31d18f6c397f99324f704bb799ebf8ca6d1f5c9103e50f3a2986b3d5b272", SignatureCheck.Malformed)]
    [InlineData("1764067800", "sha256=zzec31d18f6c397f99324f704bb799ebf8ca6d1f5c9103e50f3a2986b3d5b272", SignatureCheck.Malformed)]
    [InlineData("1764067800", "sha1=74ec31d18f6c397f99324f704bb799ebf8ca6d1f", SignatureCheck.Malformed)]
    [InlineData("99999999999999999", OpenSslSignature, SignatureCheck.OutsideWindow)]
    public void Missing_or_malformed_headers_are_refused(string? timestamp, string? signature, SignatureCheck expected) =>
        Assert.Equal(expected, CarrierSignature.Verify(Secret, timestamp, signature, Body, SignedAt));

    [Fact]
    public void Without_a_configured_secret_nothing_verifies() =>
        Assert.Equal(SignatureCheck.NotConfigured, CarrierSignature.Verify("", TimestampText, OpenSslSignature, Body, SignedAt));

    private static SignatureCheck Verify(string signature, DateTimeOffset now) =>
        CarrierSignature.Verify(Secret, TimestampText, signature, Body, now);
}
