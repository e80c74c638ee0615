using System.Buffers.Text;
using System.Text;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// Opaque pagination cursors: base64url of the last key a page returned. Only the key of the page's own
/// item type goes in, never the partition the caller is confined to, so a cursor cannot open someone else's data.
/// </summary>
public static class Cursor
{
    private const int MaxKeyLength = 128;

    public static string Encode(string lastKey) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lastKey));

    public static bool TryDecode(string? cursor, out string lastKey)
    {
        lastKey = "";
        if (string.IsNullOrEmpty(cursor) || cursor.Length > MaxKeyLength * 2)
        {
            return false;
        }

        try
        {
            lastKey = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            return false;
        }

        return lastKey.Length is > 0 and <= MaxKeyLength && lastKey.All(c => c is >= '!' and <= '~');
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
            validation.Add("cursor", "Not a cursor this API returned.");
        }

        return after;
    }
}
