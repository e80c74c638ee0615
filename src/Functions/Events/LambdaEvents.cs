using System.Text.Json.Serialization;
using Amazon.DynamoDBv2.Model;

namespace OrderProcessing.Functions.Events;

// The event records we consume, in the JSON shape Lambda delivers (the same as the official
// Amazon.Lambda.DynamoDBEvents / SQSEvents / APIGatewayEvents types), so a swap to those packages is mechanical.

/// <summary>A batch of DynamoDB stream records (Amazon.Lambda.DynamoDBEvents.DynamoDBEvent).</summary>
public sealed record DynamoDbStreamEvent([property: JsonPropertyName("Records")] IReadOnlyList<DynamoDbStreamRecord> Records);

/// <summary>One stream record: an INSERT, MODIFY or REMOVE of one item.</summary>
public sealed record DynamoDbStreamRecord
{
    [JsonPropertyName("eventID")]
    public string? EventId { get; init; }

    /// <summary>INSERT, MODIFY or REMOVE.</summary>
    [JsonPropertyName("eventName")]
    public string? EventName { get; init; }

    [JsonPropertyName("eventVersion")]
    public string? EventVersion { get; init; }

    [JsonPropertyName("eventSource")]
    public string? EventSource { get; init; }

    [JsonPropertyName("awsRegion")]
    public string? AwsRegion { get; init; }

    [JsonPropertyName("eventSourceARN")]
    public string? EventSourceArn { get; init; }

    [JsonPropertyName("dynamodb")]
    public StreamRecord? Dynamodb { get; init; }
}

/// <summary>The change itself: keys, images, and the sequence number that identifies the record in its shard.</summary>
public sealed record StreamRecord
{
    /// <summary>Epoch seconds.</summary>
    [JsonPropertyName("ApproximateCreationDateTime")]
    public double? ApproximateCreationDateTime { get; init; }

    [JsonPropertyName("Keys")]
    public Dictionary<string, StreamAttributeValue>? Keys { get; init; }

    [JsonPropertyName("NewImage")]
    public Dictionary<string, StreamAttributeValue>? NewImage { get; init; }

    [JsonPropertyName("OldImage")]
    public Dictionary<string, StreamAttributeValue>? OldImage { get; init; }

    [JsonPropertyName("SequenceNumber")]
    public string? SequenceNumber { get; init; }

    [JsonPropertyName("SizeBytes")]
    public long? SizeBytes { get; init; }

    [JsonPropertyName("StreamViewType")]
    public string? StreamViewType { get; init; }
}

/// <summary>A DynamoDB attribute value as stream events carry it ({"S": "..."}, {"N": "1"}, {"M": {...}}, ...).</summary>
public sealed record StreamAttributeValue
{
    [JsonPropertyName("S")]
    public string? S { get; init; }

    [JsonPropertyName("N")]
    public string? N { get; init; }

    /// <summary>Base64.</summary>
    [JsonPropertyName("B")]
    public string? B { get; init; }

    [JsonPropertyName("SS")]
    public List<string>? SS { get; init; }

    [JsonPropertyName("NS")]
    public List<string>? NS { get; init; }

    [JsonPropertyName("BS")]
    public List<string>? BS { get; init; }

    [JsonPropertyName("M")]
    public Dictionary<string, StreamAttributeValue>? M { get; init; }

    [JsonPropertyName("L")]
    public List<StreamAttributeValue>? L { get; init; }

    [JsonPropertyName("NULL")]
    public bool? Null { get; init; }

    [JsonPropertyName("BOOL")]
    public bool? Bool { get; init; }

    /// <summary>The SDK's attribute value, so a stream image maps to a model like a table item does.</summary>
    public AttributeValue ToAttributeValue() => new()
    {
        S = S,
        N = N,
        B = B is null ? null : new MemoryStream(Convert.FromBase64String(B)),
        SS = SS,
        NS = NS,
        BS = BS?.Select(b => new MemoryStream(Convert.FromBase64String(b))).ToList(),
        M = M?.ToDictionary(p => p.Key, p => p.Value.ToAttributeValue()),
        L = L?.Select(v => v.ToAttributeValue()).ToList(),
        NULL = Null,
        BOOL = Bool,
    };

    public static Dictionary<string, AttributeValue> ToItem(Dictionary<string, StreamAttributeValue> image) =>
        image.ToDictionary(p => p.Key, p => p.Value.ToAttributeValue());
}

/// <summary>A batch of SQS messages (Amazon.Lambda.SQSEvents.SQSEvent).</summary>
public sealed record SqsEvent([property: JsonPropertyName("Records")] IReadOnlyList<SqsMessage> Records);

/// <summary>One SQS message as Lambda delivers it.</summary>
public sealed record SqsMessage
{
    [JsonPropertyName("messageId")]
    public string MessageId { get; init; } = "";

    [JsonPropertyName("receiptHandle")]
    public string? ReceiptHandle { get; init; }

    [JsonPropertyName("body")]
    public string Body { get; init; } = "";

    /// <summary>System attributes: ApproximateReceiveCount, MessageGroupId, MessageDeduplicationId, SentTimestamp, ...</summary>
    [JsonPropertyName("attributes")]
    public Dictionary<string, string>? Attributes { get; init; }

    [JsonPropertyName("messageAttributes")]
    public Dictionary<string, SqsMessageAttribute>? MessageAttributes { get; init; }

    [JsonPropertyName("md5OfBody")]
    public string? Md5OfBody { get; init; }

    [JsonPropertyName("eventSource")]
    public string? EventSource { get; init; }

    [JsonPropertyName("eventSourceARN")]
    public string? EventSourceArn { get; init; }

    [JsonPropertyName("awsRegion")]
    public string? AwsRegion { get; init; }
}

/// <summary>A message attribute as Lambda delivers it (camelCase, unlike the SQS API).</summary>
public sealed record SqsMessageAttribute
{
    [JsonPropertyName("stringValue")]
    public string? StringValue { get; init; }

    [JsonPropertyName("binaryValue")]
    public string? BinaryValue { get; init; }

    [JsonPropertyName("stringListValues")]
    public List<string>? StringListValues { get; init; }

    [JsonPropertyName("binaryListValues")]
    public List<string>? BinaryListValues { get; init; }

    [JsonPropertyName("dataType")]
    public string? DataType { get; init; }
}

/// <summary>An API Gateway WebSocket event (Amazon.Lambda.APIGatewayEvents.APIGatewayProxyRequest, WebSocket flavour).</summary>
public sealed record WebSocketEvent
{
    [JsonPropertyName("requestContext")]
    public WebSocketRequestContext RequestContext { get; init; } = new();

    [JsonPropertyName("body")]
    public string? Body { get; init; }

    [JsonPropertyName("isBase64Encoded")]
    public bool IsBase64Encoded { get; init; }

    [JsonPropertyName("headers")]
    public Dictionary<string, string>? Headers { get; init; }

    [JsonPropertyName("queryStringParameters")]
    public Dictionary<string, string>? QueryStringParameters { get; init; }
}

/// <summary>Which route, which connection, when.</summary>
public sealed record WebSocketRequestContext
{
    /// <summary>$connect, $disconnect, $default or a custom route.</summary>
    [JsonPropertyName("routeKey")]
    public string RouteKey { get; init; } = "";

    /// <summary>CONNECT, MESSAGE or DISCONNECT.</summary>
    [JsonPropertyName("eventType")]
    public string? EventType { get; init; }

    [JsonPropertyName("connectionId")]
    public string? ConnectionId { get; init; }

    [JsonPropertyName("domainName")]
    public string? DomainName { get; init; }

    [JsonPropertyName("stage")]
    public string? Stage { get; init; }

    [JsonPropertyName("requestId")]
    public string? RequestId { get; init; }

    [JsonPropertyName("connectedAt")]
    public long? ConnectedAt { get; init; }

    [JsonPropertyName("requestTimeEpoch")]
    public long? RequestTimeEpoch { get; init; }
}

/// <summary>What a WebSocket route answers (APIGatewayProxyResponse).</summary>
public sealed record WebSocketResponse(
    [property: JsonPropertyName("statusCode")] int StatusCode,
    [property: JsonPropertyName("body"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Body = null)
{
    /// <summary>Response headers; on $connect, the chosen Sec-WebSocket-Protocol.</summary>
    [JsonPropertyName("headers")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

/// <summary>The partial batch response of SQS and stream handlers (ReportBatchItemFailures).</summary>
public sealed record BatchResponse([property: JsonPropertyName("batchItemFailures")] IReadOnlyList<BatchItemFailure> BatchItemFailures)
{
    public static BatchResponse Success { get; } = new([]);

    public static BatchResponse Failed(IEnumerable<string> itemIdentifiers) =>
        new(itemIdentifiers.Select(id => new BatchItemFailure(id)).ToList());
}

/// <summary>A record to deliver again: the SQS message id, or the stream record's sequence number.</summary>
public sealed record BatchItemFailure([property: JsonPropertyName("itemIdentifier")] string ItemIdentifier);
