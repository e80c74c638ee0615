using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// Opaque pagination cursors: base64url of a version byte, the last key a page returned, and a check of both, so a
/// string this API did not hand out (a typo, a made-up "ZGVtbw") is a 400 rather than a page that starts somewhere
/// arbitrary. Only the key of the page's own item type goes in, never the partition the caller is confined to, so
/// even a forged cursor cannot open someone else's data.
/// </summary>
public static class Cursor
{
    private const int MaxKeyLength = 128;
    private const byte Version = 1;
    private const int CheckLength = 8;
    private static readonly byte[] CheckSalt = "orderprocessing/cursor/v1"u8.ToArray();

    public static string Encode(string lastKey)
    {
        var key = Encoding.UTF8.GetBytes(lastKey);
        var bytes = new byte[1 + key.Length + CheckLength];
        bytes[0] = Version;
        key.CopyTo(bytes, 1);
        Check(key).CopyTo(bytes.AsSpan(1 + key.Length));
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(string? cursor, out string lastKey)
    {
        lastKey = "";
        if (string.IsNullOrEmpty(cursor) || cursor.Length > (MaxKeyLength + CheckLength + 1) * 2)
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(cursor);
        }
        catch (FormatException)
        {
            return false;
        }

        if (bytes.Length <= 1 + CheckLength || bytes[0] != Version)
        {
            return false;
        }

        var key = bytes.AsSpan(1, bytes.Length - 1 - CheckLength);
        if (!CryptographicOperations.FixedTimeEquals(Check(key), bytes.AsSpan(bytes.Length - CheckLength)))
        {
            return false;
        }

        lastKey = Encoding.UTF8.GetString(key);
        return lastKey.Length is > 0 and <= MaxKeyLength && lastKey.All(c => c is >= '!' and <= '~');
    }

    private static byte[] Check(ReadOnlySpan<byte> key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var input = new byte[CheckSalt.Length + key.Length];
        CheckSalt.CopyTo(input, 0);
        key.CopyTo(input.AsSpan(CheckSalt.Length));
        SHA256.HashData(input, hash);
        return hash[..CheckLength].ToArray();
    }

    /// <summary>
    /// Checks a list endpoint's <c>?limit=</c> (1 to <paramref name="maxPageSize"/>) and <c>?cursor=</c>, adding what
    /// is wrong to <paramref name="validation"/>; answers the decoded cursor (null for the first page).
    /// </summary>
    public static string? CheckPage(RequestValidation validation, int? limit, string? cursor, int maxPageSize)
    {
        if (limit is < 1 || limit > maxPageSize)
        {
            validation.Add("limit", $"Must be 1 to {maxPageSize}.");
        }

        string? after = null;
        if (cursor is not null && !TryDecode(cursor, out after))
        {
            validation.Add("cursor", "Not a cursor this API returned: pass a page's nextCursor as it is.");
        }

        return after;
    }
}
