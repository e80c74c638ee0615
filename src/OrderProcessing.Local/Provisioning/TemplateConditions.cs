using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.Provisioning;

/// <summary>
/// Evaluates the template's Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition; short and long forms)
/// against a stack's parameters, so the local host leaves out what a deployment with the same parameters would.
/// </summary>
public static class TemplateConditions
{
    public static bool IsTrue(SamTemplate template, string name, StackContext stack) =>
        template.Conditions.TryGetValue(name, out var condition)
            ? Evaluate(template, condition, stack)
            : throw new InvalidDataException($"template.yaml: condition {name} is not defined.");

    private static bool Evaluate(SamTemplate template, YamlNode node, StackContext stack)
    {
        var (function, argument) = node switch
        {
            _ when StackContext.TagOf(node) is { Length: > 0 } tag => (tag.TrimStart('!'), node),
            YamlMappingNode map when map.Children.Count == 1 => (((YamlScalarNode)map.Children.First().Key).Value!.Replace("Fn::", "", StringComparison.Ordinal),
                map.Children.First().Value),
            _ => throw new InvalidDataException($"template.yaml: cannot evaluate the condition at {node.Start}."),
        };
        var operands = argument is YamlSequenceNode sequence ? sequence.Children : [];
        return function switch
        {
            "Equals" when operands.Count == 2 => string.Equals(Value(operands[0], stack), Value(operands[1], stack), StringComparison.Ordinal),
            "Not" when operands.Count == 1 => !Evaluate(template, operands[0], stack),
            "And" => operands.All(o => Evaluate(template, o, stack)),
            "Or" => operands.Any(o => Evaluate(template, o, stack)),
            "Condition" when argument is YamlScalarNode reference => IsTrue(template, reference.Value!, stack),
            _ => throw new InvalidDataException($"template.yaml: condition function {function} at {node.Start} is not supported locally."),
        };
    }

    private static string Value(YamlNode node, StackContext stack) =>
        stack.Resolve(node) ?? throw new InvalidDataException($"template.yaml: {node} at {node.Start} cannot be resolved locally.");
}
