using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.Provisioning;

/// <summary>
/// template.yaml as a tree of YAML nodes, with the CloudFormation intrinsic functions
/// (!Ref, !Sub, !GetAtt, and their long forms) resolved on demand against a <see cref="StackContext"/>.
/// </summary>
public sealed class SamTemplate
{
    private readonly YamlMappingNode _root;

    private SamTemplate(YamlMappingNode root, string path)
    {
        _root = root;
        Path = path;
    }

    public string Path { get; }

    public static SamTemplate Load(string path)
    {
        var stream = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            stream.Load(reader);
        }

        return stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode root
            ? new SamTemplate(root, path)
            : throw new InvalidDataException($"{path} is not a single YAML mapping.");
    }

    public IEnumerable<TemplateResource> Resources =>
        Child(_root, "Resources") is YamlMappingNode resources
            ? resources.Children.Select(pair => new TemplateResource(((YamlScalarNode)pair.Key).Value!, (YamlMappingNode)pair.Value))
            : [];

    public IEnumerable<TemplateResource> ResourcesOfType(string type) => Resources.Where(r => r.Type == type);

    /// <summary>The Conditions section, by name.</summary>
    public IReadOnlyDictionary<string, YamlNode> Conditions =>
        Child(_root, "Conditions") is YamlMappingNode conditions
            ? conditions.Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => p.Value)
            : new Dictionary<string, YamlNode>();

    /// <summary>Parameter defaults, as CloudFormation would use them without overrides.</summary>
    public IReadOnlyDictionary<string, string> ParameterDefaults =>
        Child(_root, "Parameters") is YamlMappingNode parameters
            ? parameters.Children.ToDictionary(
                p => ((YamlScalarNode)p.Key).Value!,
                p => (Child((YamlMappingNode)p.Value, "Default") as YamlScalarNode)?.Value ?? "")
            : new Dictionary<string, string>();

    /// <summary>The functions (AWS::Serverless::Function), by logical id.</summary>
    public IEnumerable<TemplateResource> Functions => ResourcesOfType("AWS::Serverless::Function");

    /// <summary>Globals.Function.Environment.Variables followed by each function's own, later ones winning.</summary>
    public IEnumerable<KeyValuePair<string, YamlNode>> FunctionEnvironment() =>
        GlobalEnvironment.Concat(Functions.SelectMany(OwnEnvironment));

    /// <summary>
    /// What one function gets on Lambda: the Globals' variables, then its own (which win); every function's when
    /// <paramref name="functionLogicalId"/> is null.
    /// </summary>
    public IEnumerable<KeyValuePair<string, YamlNode>> FunctionEnvironment(string? functionLogicalId) =>
        GlobalEnvironment.Concat(Functions.Where(f => functionLogicalId is null || f.LogicalId == functionLogicalId).SelectMany(OwnEnvironment));

    /// <summary>A property of Globals.Function (Timeout, Runtime, ...), which every function has unless it sets its own.</summary>
    public YamlNode? GlobalFunctionProperty(string name) => Child(Child(Child(_root, "Globals"), "Function"), name);

    /// <summary>Globals.Function.Environment.Variables.</summary>
    public IEnumerable<KeyValuePair<string, YamlNode>> GlobalEnvironment => Variables(Child(Child(Child(_root, "Globals"), "Function"), "Environment"));

    private static IEnumerable<KeyValuePair<string, YamlNode>> OwnEnvironment(TemplateResource function) =>
        Variables(Child(function.Properties, "Environment"));

    private static IEnumerable<KeyValuePair<string, YamlNode>> Variables(YamlNode? environment) =>
        Child(environment, "Variables") is YamlMappingNode variables
            ? variables.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, p.Value))
            : [];

    internal static YamlNode? Child(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;
}

/// <summary>One entry under Resources.</summary>
public sealed record TemplateResource(string LogicalId, YamlMappingNode Node)
{
    public string Type => (SamTemplate.Child(Node, "Type") as YamlScalarNode)?.Value ?? "";

    public YamlMappingNode Properties => SamTemplate.Child(Node, "Properties") as YamlMappingNode ?? new YamlMappingNode();

    public YamlNode? Property(string name) => SamTemplate.Child(Properties, name);

    /// <summary>The name of the condition the resource is created under, if any.</summary>
    public string? Condition => (SamTemplate.Child(Node, "Condition") as YamlScalarNode)?.Value;
}
