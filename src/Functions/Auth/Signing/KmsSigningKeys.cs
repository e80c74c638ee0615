using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Microsoft.IdentityModel.Tokens;

namespace OrderProcessing.Functions.Auth.Signing;

/// <summary>
/// Signing keys in AWS KMS: an asymmetric ECC_NIST_P256 SIGN_VERIFY key named by SIGNING_KEY_ID (id, ARN or alias),
/// plus SIGNING_PREVIOUS_KEY_IDS, whose public keys stay published while tokens they signed are alive. The private
/// key never leaves KMS; public keys are fetched once per key (they never change) and the alias is re-resolved
/// every few minutes, so moving the alias to a new key rotates signing without a deployment.
/// </summary>
public sealed class KmsSigningKeys(IAmazonKeyManagementService kms, AuthOptions options, TimeProvider time) : ISigningKeys, IDisposable
{
    private static readonly TimeSpan AliasRefresh = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, KmsKey> _byArn = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Resolved? _current;

    public async ValueTask<SigningKeySet> GetAsync(CancellationToken cancellationToken = default)
    {
        if (_current is { } cached && time.GetUtcNow() - cached.At < AliasRefresh)
        {
            return cached.Set;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } again && time.GetUtcNow() - again.At < AliasRefresh)
            {
                return again.Set;
            }

            var signingKeyId = options.SigningKeyId ?? throw new InvalidOperationException("SIGNING_KEY_ID is not set.");
            var current = await DescribeAsync(signingKeyId, cancellationToken);
            var keys = new List<JsonWebKey> { current.Jwk };
            foreach (var previous in options.PreviousSigningKeyIds)
            {
                var key = await DescribeAsync(previous, cancellationToken);
                if (keys.All(k => k.Kid != key.Jwk.Kid))
                {
                    keys.Add(key.Jwk);
                }
            }

            var set = new SigningKeySet(current.Jwk.Kid, keys);
            _current = new Resolved(set, time.GetUtcNow());
            return set;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>KMS's limit for a message it hashes itself.</summary>
    public const int MaxRawMessageBytes = 4096;

    public async ValueTask<byte[]> SignAsync(string keyId, byte[] data, CancellationToken cancellationToken = default)
    {
        var key = _byArn.Values.FirstOrDefault(k => k.Jwk.Kid == keyId)
            ?? throw new InvalidOperationException($"Signing key {keyId} is not a known KMS key.");
        // A JWS signing input is a few hundred bytes: KMS hashes it (RAW, up to 4,096 bytes). Only a longer one is
        // sent as its SHA-256 digest. (moto 5 hashes a DIGEST message once more, so only RAW verifies there.)
        var raw = data.Length <= MaxRawMessageBytes;
        using var message = new MemoryStream(raw ? data : SHA256.HashData(data));
        var response = await kms.SignAsync(new SignRequest
        {
            KeyId = key.Arn,
            Message = message,
            MessageType = raw ? MessageType.RAW : MessageType.DIGEST,
            SigningAlgorithm = SigningAlgorithmSpec.ECDSA_SHA_256,
        }, cancellationToken);
        return DerToP1363(response.Signature.ToArray(), 32);
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>KMS returns an ASN.1 DER ECDSA-Sig-Value; JWS (RFC 7518 §3.4) wants r and s as fixed-width big-endian.</summary>
    public static byte[] DerToP1363(byte[] der, int fieldBytes)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var sequence = reader.ReadSequence();
        var r = sequence.ReadIntegerBytes().Span;
        var s = sequence.ReadIntegerBytes().Span;
        sequence.ThrowIfNotEmpty();
        reader.ThrowIfNotEmpty();

        var signature = new byte[2 * fieldBytes];
        CopyUnsigned(r, signature.AsSpan(0, fieldBytes));
        CopyUnsigned(s, signature.AsSpan(fieldBytes, fieldBytes));
        return signature;
    }

    private static void CopyUnsigned(ReadOnlySpan<byte> integer, Span<byte> destination)
    {
        // DER integers are minimal two's complement: drop a leading zero added for the sign, left-pad to the field width.
        while (integer.Length > 1 && integer[0] == 0)
        {
            integer = integer[1..];
        }

        if (integer.Length > destination.Length)
        {
            throw new CryptographicException("ECDSA signature component is wider than the curve's field.");
        }

        integer.CopyTo(destination[(destination.Length - integer.Length)..]);
    }

    private async Task<KmsKey> DescribeAsync(string keyId, CancellationToken cancellationToken)
    {
        if (_byArn.TryGetValue(keyId, out var known))
        {
            return known;
        }

        var response = await kms.GetPublicKeyAsync(new GetPublicKeyRequest { KeyId = keyId }, cancellationToken);
        // KMS answers KeySpec and its deprecated twin CustomerMasterKeySpec; moto 5 answers only the latter.
#pragma warning disable CS0618 // Read only when KeySpec is missing.
        var keySpec = response.KeySpec?.Value ?? response.CustomerMasterKeySpec?.Value;
#pragma warning restore CS0618
        if (keySpec != KeySpec.ECC_NIST_P256.Value || response.KeyUsage != KeyUsageType.SIGN_VERIFY)
        {
            throw new InvalidOperationException(
                $"KMS key {keyId} is {keySpec} {response.KeyUsage}; access tokens need an ECC_NIST_P256 SIGN_VERIFY key.");
        }

        if (_byArn.TryGetValue(response.KeyId, out known))
        {
            return known;
        }

        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(response.PublicKey.ToArray(), out _);
        var key = new KmsKey(response.KeyId, EcKeys.ToJwk(ecdsa.ExportParameters(includePrivateParameters: false)));
        _byArn[response.KeyId] = key;
        return key;
    }

    private sealed record KmsKey(string Arn, JsonWebKey Jwk);

    private sealed record Resolved(SigningKeySet Set, DateTimeOffset At);
}
