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
}
