namespace OrderProcessing.Tests.Infrastructure;

/// <summary>Paths in the repository the tests run from.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    public static string TemplatePath => Path.Combine(Root, "template.yaml");

    public static string LocalstackDirectory => Path.Combine(Root, "localstack");

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrderProcessing.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No OrderProcessing.sln above {AppContext.BaseDirectory}.");
    }
}
