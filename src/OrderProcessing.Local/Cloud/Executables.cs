namespace OrderProcessing.Local.Cloud;

/// <summary>Finds programs the way a shell does, on a PATH that tests may replace.</summary>
internal static class Executables
{
    public static string? Find(string name, string? searchPath = null)
    {
        var path = searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
