using System.Text.Json;

namespace OrderProcessing.Local.Invoke;

/// <summary>
/// An environment variables file in the SAM CLI's format (<c>sam local invoke --env-vars</c>):
/// <c>{"Parameters": {"VAR": "value"}, "FunctionLogicalId": {"VAR": "value"}}</c>. "Parameters" applies to every
/// function, a function's own entry wins over it. Numbers and booleans are taken as their text.
/// </summary>
public static class EnvVarsFile
{
    public static Dictionary<string, string> Read(string path, string function)
    {
        if (!File.Exists(path))
        {
            throw new InvokeUsageException($"--env-vars {path}: the file does not exist.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvokeUsageException($"--env-vars {path} is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvokeUsageException($"--env-vars {path}: expected an object such as {{\"{function}\": {{\"VAR\": \"value\"}}}}.");
            }

            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var section in new[] { "Parameters", function })
            {
                if (!document.RootElement.TryGetProperty(section, out var values))
                {
                    continue;
                }

                if (values.ValueKind != JsonValueKind.Object)
                {
                    throw new InvokeUsageException($"--env-vars {path}: \"{section}\" must be an object of variable names and values.");
                }

                foreach (var variable in values.EnumerateObject())
                {
                    variables[variable.Name] = variable.Value.ValueKind switch
                    {
                        JsonValueKind.String => variable.Value.GetString()!,
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => variable.Value.GetRawText(),
                        _ => throw new InvokeUsageException($"--env-vars {path}: {section}.{variable.Name} must be a string, number or boolean."),
                    };
                }
            }

            return variables;
        }
    }
}
