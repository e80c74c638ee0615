using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.Provisioning;

/// <summary>
/// Resolves CloudFormation intrinsic functions the way a deployed stack would:
/// pseudo parameters, parameters, and the Ref / GetAtt values of resources created so far.
/// </summary>
public sealed partial class StackContext(string stackName, string region, string accountId,
    IReadOnlyDictionary<string, string> parameters)
{
    private readonly Dictionary<string, string> _refs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _attributes = new(StringComparer.Ordinal);

    public string StackName { get; } = stackName;

    public void SetRef(string logicalId, string value) => _refs[logicalId] = value;

    public void SetAttribute(string logicalId, string attribute, string value) => _attributes[$"{logicalId}.{attribute}"] = value;

    /// <summary>The node's value as a string, or null when it refers to something not created locally.</summary>
    public string? Resolve(YamlNode? node) => (node, TagOf(node)) switch
    {
        (null, _) => null,
        (YamlScalarNode scalar, "" or "tag:yaml.org,2002:str") => scalar.Value,
        (YamlScalarNode scalar, "!Ref") => Ref(scalar.Value!),
        (YamlScalarNode scalar, "!Sub") => Sub(scalar.Value!),
        (YamlScalarNode scalar, "!GetAtt") => GetAtt(scalar.Value!),
        (YamlSequenceNode sequence, "!GetAtt") => GetAtt(string.Join('.', sequence.Children.Select(c => ((YamlScalarNode)c).Value))),
        (YamlMappingNode map, "") when map.Children.Count == 1 => ResolveLongForm(map),
        _ => null,
    };

    /// <summary>The node's explicit tag (such as "!Ref"), or "" for an untagged node.</summary>
    public static string TagOf(YamlNode? node) =>
        node is null || node.Tag.IsEmpty || node.Tag.IsNonSpecific ? "" : node.Tag.Value;

    private string? ResolveLongForm(YamlMappingNode map)
    {
        var (key, value) = map.Children.First();
        return ((YamlScalarNode)key).Value switch
        {
            "Ref" => Ref(((YamlScalarNode)value).Value!),
            "Fn::Sub" when value is YamlScalarNode s => Sub(s.Value!),
            "Fn::GetAtt" when value is YamlSequenceNode seq => GetAtt(string.Join('.', seq.Children.Select(c => ((YamlScalarNode)c).Value))),
            "Fn::GetAtt" when value is YamlScalarNode s => GetAtt(s.Value!),
            _ => null,
        };
    }

    public string? Ref(string name) => name switch
    {
        "AWS::StackName" => StackName,
        "AWS::Region" => region,
        "AWS::AccountId" => accountId,
        "AWS::Partition" => "aws",
        "AWS::URLSuffix" => "amazonaws.com",
        _ when parameters.TryGetValue(name, out var parameter) => parameter,
        _ => _refs.GetValueOrDefault(name),
    };

    public string? GetAtt(string path) => _attributes.GetValueOrDefault(path);

    private string? Sub(string text)
    {
        var unresolved = false;
        var result = SubstitutionPattern().Replace(text, match =>
        {
            var name = match.Groups[1].Value;
            var value = name.Contains('.', StringComparison.Ordinal) && !name.StartsWith("AWS::", StringComparison.Ordinal)
                ? GetAtt(name)
                : Ref(name);
            unresolved |= value is null;
            return value ?? "";
        });
        return unresolved ? null : result;
    }

    /// <summary>Any value as the string CloudFormation would pass to a service (numbers and booleans as text).</summary>
    public static string Text(object value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";

    [GeneratedRegex(@"\$\{([^}!][^}]*)\}")]
    private static partial Regex SubstitutionPattern();

    /// <summary>A mapping node as JSON, with intrinsic functions resolved (for attributes such as RedrivePolicy).</summary>
    public string ToJson(YamlNode node)
    {
        var builder = new StringBuilder();
        WriteJson(node, builder);
        return builder.ToString();
    }

    private void WriteJson(YamlNode node, StringBuilder builder)
    {
        switch (node)
        {
            case YamlMappingNode map when TagOf(map) == "" && !(map.Children.Count == 1 && IsIntrinsic(map)):
                builder.Append('{');
                var first = true;
                foreach (var (key, value) in map.Children)
                {
                    if (!first)
                    {
                        builder.Append(',');
                    }

                    first = false;
                    builder.Append(System.Text.Json.JsonSerializer.Serialize(((YamlScalarNode)key).Value));
                    builder.Append(':');
                    WriteJson(value, builder);
                }

                builder.Append('}');
                break;
            case YamlSequenceNode seq when TagOf(seq) == "":
                builder.Append('[').AppendJoin(',', seq.Children.Select(c => { var b = new StringBuilder(); WriteJson(c, b); return b.ToString(); })).Append(']');
                break;
            case YamlScalarNode scalar when TagOf(scalar) == "" && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain
                                             && (long.TryParse(scalar.Value, out _) || scalar.Value is "true" or "false"):
                builder.Append(scalar.Value);
                break;
            default:
                builder.Append(System.Text.Json.JsonSerializer.Serialize(Resolve(node)
                    ?? throw new InvalidDataException($"Cannot resolve {node} at {node.Start} locally.")));
                break;
        }
    }

    private static bool IsIntrinsic(YamlMappingNode map) =>
        ((YamlScalarNode)map.Children.First().Key).Value is "Ref" or "Fn::Sub" or "Fn::GetAtt";
}
