using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Tests.Local;

public sealed class StackContextTests
{
    private static readonly StackContext Stack = CreateStack();

    [Theory]
    [InlineData("!Ref AWS::StackName", "shop")]
    [InlineData("!Ref Stage", "dev")]
    [InlineData("!Ref OrdersTable", "shop-orders")]
    [InlineData("!Sub \"${AWS::StackName}-orders\"", "shop-orders")]
    [InlineData("!Sub \"arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:${Queue.QueueName}\"", "arn:aws:sqs:eu-west-1:000000000000:shop-q.fifo")]
    [InlineData("!GetAtt Queue.Arn", "arn:queue")]
    [InlineData("!GetAtt [Queue, Arn]", "arn:queue")]
    [InlineData("{Ref: OrdersTable}", "shop-orders")]
    [InlineData("{\"Fn::GetAtt\": [Queue, Arn]}", "arn:queue")]
    [InlineData("plain", "plain")]
    public void Resolves_intrinsic_functions_like_CloudFormation(string yaml, string expected) =>
        Assert.Equal(expected, Stack.Resolve(Parse(yaml)));

    [Theory]
    [InlineData("!Ref HttpApi")]
    [InlineData("!GetAtt Missing.Arn")]
    [InlineData("!Sub \"${HttpApi}/x\"")]
    [InlineData("!If [Cond, a, b]")]
    public void Leaves_what_was_not_created_locally_unresolved(string yaml) =>
        Assert.Null(Stack.Resolve(Parse(yaml)));

    [Fact]
    public void Writes_redrive_policies_as_JSON_with_numbers_and_resolved_arns() =>
        Assert.Equal(
            "{\"deadLetterTargetArn\":\"arn:queue\",\"maxReceiveCount\":5}",
            Stack.ToJson(Parse("{deadLetterTargetArn: !GetAtt Queue.Arn, maxReceiveCount: 5}")));

    private static StackContext CreateStack()
    {
        var stack = new StackContext("shop", "eu-west-1", "000000000000", new Dictionary<string, string> { ["Stage"] = "dev" });
        stack.SetRef("OrdersTable", "shop-orders");
        stack.SetAttribute("Queue", "Arn", "arn:queue");
        stack.SetAttribute("Queue", "QueueName", "shop-q.fifo");
        return stack;
    }

    private static YamlNode Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader("value: " + yaml));
        return ((YamlMappingNode)stream.Documents[0].RootNode)["value"];
    }
}
