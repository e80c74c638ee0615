using System.Collections;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;

namespace OrderProcessing.Bench;

/// <summary>Read and write request units of a table: as DynamoDB Local reported them, and the write units as AWS bills them.</summary>
internal readonly record struct TableUnits(double Read, double Write, double BilledWrite)
{
    public static TableUnits operator +(TableUnits a, TableUnits b) => new(a.Read + b.Read, a.Write + b.Write, a.BilledWrite + b.BilledWrite);
}

/// <summary>
/// The read and write request units the app's DynamoDB calls consume: each request the app's client sends is asked
/// for ReturnConsumedCapacity=TOTAL (which changes nothing else), and each answer's ConsumedCapacity is summed.
/// DynamoDB Local computes the units of single-item calls and reads the way DynamoDB bills on-demand tables (item
/// size rounded up to 1 KB per write, 4 KB per read), but reports 4 write units per table for every TransactWriteItems
/// whatever it wrote; so the transactions themselves are kept too, and <see cref="ByTableAsync"/> bills them as AWS
/// does (<see cref="TransactionBilling"/>) once the counting is over.
/// </summary>
internal sealed class CapacityMeter : IDisposable
{
    private static readonly System.Reflection.EventInfo BeforeMarshalling =
        typeof(AmazonServiceClient).GetEvent("BeforeMarshallingEvent", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
        ?? throw new InvalidOperationException("AWSSDK.Core has no BeforeMarshallingEvent.");

    private readonly AmazonServiceClient _client;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (double Read, double Write)> _byTable = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, double> _transactionWrites = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentQueue<TransactWriteItemsRequest> _transactions = new();
    private long _readMilliUnits;
    private long _writeMilliUnits;
    private long _unreported;

    public CapacityMeter(IAmazonDynamoDB client)
    {
        _client = (AmazonServiceClient)client;
        // The SDK raises BeforeMarshallingEvent (the last moment a request can be changed) to its client subclasses only.
        BeforeMarshalling.GetAddMethod(nonPublic: true)!.Invoke(_client, [new PreRequestEventHandler(AskForCapacity)]);
        _client.AfterResponseEvent += AddCapacity;
    }

    private bool _counting;

    public bool Counting
    {
        get => Volatile.Read(ref _counting);
        set => Volatile.Write(ref _counting, value);
    }

    public double ReadUnits => Interlocked.Read(ref _readMilliUnits) / 1000.0;

    public double WriteUnits => Interlocked.Read(ref _writeMilliUnits) / 1000.0;

    /// <summary>Answers that carried no ConsumedCapacity (e.g. DescribeTable): their units are not in the sums.</summary>
    public long Unreported => Interlocked.Read(ref _unreported);

    /// <summary>The TransactWriteItems the app completed while counting.</summary>
    public int Transactions => _transactions.Count;

    /// <summary>
    /// Read and write units by table name as DynamoDB Local reported them, and the write units as AWS bills them: the
    /// units Local reported for TransactWriteItems replaced by what <see cref="TransactionBilling"/> computes for
    /// them. Reads the transactions' items and the tables' indexes: call it after counting, never during.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, TableUnits>> ByTableAsync(CancellationToken cancellationToken)
    {
        if (Counting)
        {
            throw new InvalidOperationException("Billing reads DynamoDB: stop counting first.");
        }

        var billed = await new TransactionBilling((IAmazonDynamoDB)_client).WriteUnitsAsync(_transactions, cancellationToken);
        return _byTable.Keys.Union(billed.Keys, StringComparer.Ordinal).ToDictionary(
            table => table,
            table =>
            {
                var (read, write) = _byTable.GetValueOrDefault(table);
                return new TableUnits(read, write, write - _transactionWrites.GetValueOrDefault(table) + billed.GetValueOrDefault(table));
            },
            StringComparer.Ordinal);
    }

    public void Reset()
    {
        _byTable.Clear();
        _transactionWrites.Clear();
        _transactions.Clear();
        Interlocked.Exchange(ref _readMilliUnits, 0);
        Interlocked.Exchange(ref _writeMilliUnits, 0);
        Interlocked.Exchange(ref _unreported, 0);
    }

    private void AskForCapacity(object sender, PreRequestEventArgs e)
    {
        if (Counting && e.Request.GetType().GetProperty("ReturnConsumedCapacity") is { CanWrite: true } property)
        {
            property.SetValue(e.Request, ReturnConsumedCapacity.TOTAL);
        }
    }

    private void AddCapacity(object sender, ResponseEventArgs e)
    {
        if (!Counting || (e as WebServiceResponseEventArgs)?.Response is not { } response)
        {
            return;
        }

        var reported = response.GetType().GetProperty("ConsumedCapacity")?.GetValue(response);
        var capacities = reported switch
        {
            ConsumedCapacity one => [one],
            IEnumerable many => many.OfType<ConsumedCapacity>().ToList(),
            _ => [],
        };
        if (capacities.Count == 0)
        {
            Interlocked.Increment(ref _unreported);
        }

        var transaction = response is TransactWriteItemsResponse && ((WebServiceResponseEventArgs)e).Request is TransactWriteItemsRequest sent ? sent : null;
        if (transaction is not null)
        {
            _transactions.Enqueue(transaction);
        }

        foreach (var capacity in capacities)
        {
            // Per-table totals carry read and write units apart only for some operations; CapacityUnits is the sum.
            var read = capacity.ReadCapacityUnits ?? 0;
            var write = capacity.WriteCapacityUnits ?? 0;
            if (read == 0 && write == 0 && capacity.CapacityUnits is { } units)
            {
                if (IsWrite(response))
                {
                    write = units;
                }
                else
                {
                    read = units;
                }
            }

            Interlocked.Add(ref _readMilliUnits, (long)Math.Round(read * 1000));
            Interlocked.Add(ref _writeMilliUnits, (long)Math.Round(write * 1000));
            _byTable.AddOrUpdate(capacity.TableName ?? "?", (read, write), (_, sum) => (sum.Read + read, sum.Write + write));
            if (transaction is not null)
            {
                _transactionWrites.AddOrUpdate(capacity.TableName ?? "?", write, (_, sum) => sum + write);
            }
        }
    }

    private static bool IsWrite(AmazonWebServiceResponse response) =>
        response is PutItemResponse or UpdateItemResponse or DeleteItemResponse or TransactWriteItemsResponse or BatchWriteItemResponse;

    public void Dispose()
    {
        BeforeMarshalling.GetRemoveMethod(nonPublic: true)!.Invoke(_client, [new PreRequestEventHandler(AskForCapacity)]);
        _client.AfterResponseEvent -= AddCapacity;
    }
}
