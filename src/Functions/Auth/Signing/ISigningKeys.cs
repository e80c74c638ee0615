using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace OrderProcessing.Functions.Auth.Signing;

/// <summary>
/// The asymmetric key that signs access tokens (ES256), and the public keys tokens are checked against: the current
/// one and those that signed tokens still alive, so keys can rotate without breaking live tokens.
/// Two implementations: <see cref="KmsSigningKeys"/> on AWS, <see cref="LocalSigningKeys"/> for development.
/// </summary>
public interface ISigningKeys
{
    /// <summary>The current key id and every public key to publish and accept.</summary>
    ValueTask<SigningKeySet> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>An ES256 JWS signature (IEEE P1363 r||s) of the data, made with the key of the given id.</summary>
    ValueTask<byte[]> SignAsync(string keyId, byte[] data, CancellationToken cancellationToken = default);
}

/// <summary>The key new tokens are signed with, and the public keys (current first) as JWKs with their kid.</summary>
public sealed record SigningKeySet(string CurrentKeyId, IReadOnlyList<JsonWebKey> Keys);

/// <summary>P-256 public keys as JWKs, with the RFC 7638 thumbprint as key id.</summary>
public static class EcKeys
{
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    public static JsonWebKey ToJwk(ECParameters publicKey)
    {
        if (publicKey.Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value || publicKey.Q.X is null || publicKey.Q.Y is null)
        {
            throw new CryptographicException("Signing keys must be P-256 (ES256) keys.");
        }

        var x = Base64UrlEncoder.Encode(publicKey.Q.X);
        var y = Base64UrlEncoder.Encode(publicKey.Q.Y);
        return new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.EllipticCurve,
            Crv = JsonWebKeyECTypes.P256,
            X = x,
            Y = y,
            Kid = Thumbprint(x, y),
            Use = JsonWebKeyUseNames.Sig,
            Alg = Algorithm,
        };
    }

    /// <summary>RFC 7638: SHA-256 of the required members in lexicographic order, without whitespace.</summary>
    public static string Thumbprint(string x, string y) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""")));
}
