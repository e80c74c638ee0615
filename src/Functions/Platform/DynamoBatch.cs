using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace OrderProcessing.Functions.Platform;

/// <summary>BatchGetItem over any number of keys of one table: one call per 100 keys, unprocessed keys retried with backoff.</summary>
public static class DynamoBatch
{
    /// <summary>BatchGetItem takes at most 100 keys.</summary>
    public const int MaxKeys = 100;

    public static async Task<List<Dictionary<string, AttributeValue>>> GetAsync(IAmazonDynamoDB dynamo, string table,
        IEnumerable<Dictionary<string, AttributeValue>> keys, bool consistent, CancellationToken cancellationToken)
    {
        var found = new List<Dictionary<string, AttributeValue>>();
        foreach (var chunk in keys.Chunk(MaxKeys))
        {
            var request = new Dictionary<string, KeysAndAttributes> { [table] = new() { Keys = [.. chunk], ConsistentRead = consistent } };
            for (var attempt = 0; request.Count > 0; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 25 << attempt)), cancellationToken);
                }

                var response = await dynamo.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = request }, cancellationToken);
                found.AddRange(response.Responses?.GetValueOrDefault(table) ?? []);
                request = response.UnprocessedKeys is { Count: > 0 } unprocessed && attempt < 8
                    ? unprocessed
                    : response.UnprocessedKeys is { Count: > 0 }
                        ? throw new ProvisionedThroughputExceededException($"Items of {table} could not all be read; try again.")
                        : [];
            }
        }

        return found;
    }
}
