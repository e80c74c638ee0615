using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace OrderProcessing.Local.WebSockets;

/// <summary>Why a management API request was refused: API Gateway's error type and message, answered with 403.</summary>
public sealed record SignatureRejection(string ErrorType, string Message);

/// <summary>
/// Checks the SigV4 signature of a request to the local <c>@connections</c> API as API Gateway does: the
/// Authorization header must be AWS4-HMAC-SHA256 with a credential scoped to execute-api, signed within 15
/// minutes by the one identity the local host accepts (the credentials it hands its functions). The signature is
/// recomputed with AWSSDK.Core's signer over the headers the request names as signed, and compared in constant
/// time.
/// </summary>
public sealed class ManagementApiSignature(Func<AWSCredentials> accepted, TimeProvider clock)
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string Service = "execute-api";

    /// <summary>API Gateway refuses a signature made more than 15 minutes before or after it arrives.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(15);

    private const string AmzDateFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>Null when the request is signed by the accepted identity; otherwise why not.</summary>
    public async Task<SignatureRejection?> VerifyAsync(HttpRequest request, byte[] body, CancellationToken cancellationToken)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            return new("ForbiddenException", "Missing Authentication Token");
        }

        if (Parse(authorization) is not { } header)
        {
            return new("ForbiddenException",
                $"Authorization header requires '{Algorithm} Credential=<access key>/<date>/<region>/{Service}/aws4_request, SignedHeaders=<names>, Signature=<hex>'.");
        }

        if (!DateTimeOffset.TryParseExact(request.Headers["x-amz-date"].ToString(), AmzDateFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var signedAt)
            || !header.SignedHeaders.Contains("x-amz-date") || !header.SignedHeaders.Contains("host"))
        {
            return new("ForbiddenException", "The request must carry a signed X-Amz-Date header and sign the host header.");
        }

        if (signedAt.ToString("yyyyMMdd", CultureInfo.InvariantCulture) != header.Date)
        {
            return new("InvalidSignatureException", $"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{header.Date}' != '{signedAt:yyyyMMdd}'.");
        }

        var now = clock.GetUtcNow();
        if ((now - signedAt).Duration() > MaxClockSkew)
        {
            return new("InvalidSignatureException",
                string.Create(CultureInfo.InvariantCulture, $"Signature expired: {signedAt.ToString(AmzDateFormat, CultureInfo.InvariantCulture)} is not within 15 minutes of {now.ToString(AmzDateFormat, CultureInfo.InvariantCulture)}."));
        }

        var credentials = await accepted().GetCredentialsAsync();
        if (!string.Equals(header.AccessKeyId, credentials.AccessKey, StringComparison.Ordinal)
            || (credentials.UseToken && !string.Equals(request.Headers["x-amz-security-token"].ToString(), credentials.Token, StringComparison.Ordinal)))
        {
            return new("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        var signing = new AWSSigningRequest
        {
            HttpMethod = new HttpMethod(request.Method),
            RequestUri = new Uri($"{request.Scheme}://{request.Host}{RawTarget(request)}"),
            Content = body,
        };
        foreach (var name in header.SignedHeaders.Where(n => n is not ("x-amz-date" or "x-amz-security-token")))
        {
            signing.Headers[name] = name == "host" ? request.Host.ToString() : string.Join(',', request.Headers[name].Select(v => v?.Trim()));
        }

        var payloadHash = request.Headers["x-amz-content-sha256"].ToString();
        var parameters = new AWSSigV4Parameters
        {
            Credentials = new ImmutableSessionCredentials(credentials),
            Region = RegionEndpoint.GetBySystemName(header.Region),
            Service = Service,
            SignedAt = signedAt.UtcDateTime,
            SignPayload = payloadHash != "UNSIGNED-PAYLOAD",
        };
        if (payloadHash.Length > 0 && payloadHash != "UNSIGNED-PAYLOAD")
        {
            // The hash the client claims is signed as it stands; it must also be the hash of the body that came.
            if (!string.Equals(payloadHash, Convert.ToHexStringLower(SHA256.HashData(body)), StringComparison.OrdinalIgnoreCase))
            {
                return new("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.");
            }

            signing.Headers.Remove("x-amz-content-sha256");
        }

        var expected = await AWSSigV4Signer.SignAsync(signing, parameters, cancellationToken);
        var recomputed = Parse(expected.Headers.First(h => h.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase)).Value);
        return recomputed is not null
               && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(recomputed.Signature), Encoding.ASCII.GetBytes(header.Signature))
            ? null
            : new("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
    }

    /// <summary>The path and query exactly as the client sent them: the signature covers their encoded form.</summary>
    private static string RawTarget(HttpRequest request) =>
        request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw && raw.StartsWith('/')
            ? raw
            : request.PathBase + request.Path + request.QueryString;

    private sealed record AuthorizationHeader(string AccessKeyId, string Date, string Region, IReadOnlySet<string> SignedHeaders, string Signature);

    /// <summary>AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/execute-api/aws4_request, SignedHeaders=a;b, Signature=hex.</summary>
    private static AuthorizationHeader? Parse(string authorization)
    {
        if (!authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = authorization[(Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal);
        if (!parts.TryGetValue("Credential", out var credential) || !parts.TryGetValue("SignedHeaders", out var signedHeaders)
            || !parts.TryGetValue("Signature", out var signature))
        {
            return null;
        }

        var scope = credential.Split('/');
        if (scope is not [{ Length: > 0 } accessKeyId, { Length: 8 } date, { Length: > 0 } region, Service, "aws4_request"]
            || signature.Length != 64 || !signature.All(Uri.IsHexDigit)
            || signedHeaders.Length == 0)
        {
            return null;
        }

        return new(accessKeyId, date, region, signedHeaders.Split(';').ToHashSet(StringComparer.Ordinal), signature.ToLowerInvariant());
    }

    /// <summary>Credentials as resolved, handed to the signer as they are.</summary>
    private sealed class ImmutableSessionCredentials(ImmutableCredentials credentials) : AWSCredentials
    {
        public override ImmutableCredentials GetCredentials() => credentials;
    }
}
