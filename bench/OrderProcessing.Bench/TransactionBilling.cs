using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace OrderProcessing.Bench;

/// <summary>
/// The write request units AWS bills for TransactWriteItems, computed from the actions the app sent, the items as
/// stored and the tables' indexes, because DynamoDB Local reports 4 per table and transaction whatever it wrote.
/// The rules (sources in bench/README.md, "DynamoDB write units as AWS bills them"):
/// <list type="bullet">
/// <item>Each action costs 2 WRU per started KB of its item: a Put the item it writes, an Update the larger of the item
/// before and after, a Delete the item deleted, a ConditionCheck the item checked (billed as a write).</item>
/// <item>An index entry written costs 2 WRU per started KB of the entry (its projected attributes, the table's and the
/// index's keys, and 100 bytes): AWS does not say whether an index write inside a transaction is doubled, so it is
/// taken to be (the higher cost).</item>
/// <item>A Put writes an entry in each index whose key attributes the item has; an Update writes one where it changes a
/// projected attribute, and two (the old entry's delete and the new one's put) where it changes an index key.</item>
/// </list>
/// It reads what it needs (the items by key, DescribeTable) only when asked, after the counted window, so those reads
/// are not counted as the app's calls.
/// </summary>
internal sealed class TransactionBilling(IAmazonDynamoDB dynamo)
{
    private const int Kilobyte = 1024;
    private const int IndexEntryOverhead = 100;

    private readonly Dictionary<string, TableShape> _tables = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, AttributeValue>?> _items = new(StringComparer.Ordinal);

    /// <summary>Write units per table (indexes included) that AWS bills for these transactions.</summary>
    public async Task<IReadOnlyDictionary<string, double>> WriteUnitsAsync(IEnumerable<TransactWriteItemsRequest> transactions, CancellationToken cancellationToken)
    {
        var units = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var action in transactions.SelectMany(t => t.TransactItems ?? []))
        {
            var (table, billed) = await UnitsAsync(action, cancellationToken);
            units[table] = units.GetValueOrDefault(table) + billed;
        }

        return units;
    }

    private async Task<(string Table, double Units)> UnitsAsync(TransactWriteItem action, CancellationToken cancellationToken)
    {
        if (action.Put is { } put)
        {
            var shape = await ShapeAsync(put.TableName, cancellationToken);
            var indexUnits = shape.Indexes.Where(i => i.Keys.All(put.Item.ContainsKey)).Sum(i => Transactional(i.EntrySize(put.Item, shape.Keys)));
            return (put.TableName, Transactional(ItemSize(put.Item)) + indexUnits);
        }

        if (action.Update is { } update)
        {
            var shape = await ShapeAsync(update.TableName, cancellationToken);
            var stored = await StoredAsync(update.TableName, update.Key, cancellationToken) ?? new Dictionary<string, AttributeValue>(update.Key);
            var changes = UpdateChanges.Parse(update.UpdateExpression, update.ExpressionAttributeNames, update.ExpressionAttributeValues);
            var after = changes.Apply(stored);
            var itemUnits = Transactional(Math.Max(ItemSize(stored), ItemSize(after)));
            var indexUnits = 0.0;
            foreach (var index in shape.Indexes)
            {
                var writes = changes.Touched.Any(index.Keys.Contains) ? 2
                    : changes.Touched.Any(index.Projects) ? 1
                    : 0;
                if (writes > 0 && (index.Keys.All(after.ContainsKey) || index.Keys.All(stored.ContainsKey)))
                {
                    indexUnits += writes * Transactional(Math.Max(index.EntrySize(stored, shape.Keys), index.EntrySize(after, shape.Keys)));
                }
            }

            return (update.TableName, itemUnits + indexUnits);
        }

        if (action.Delete is { } delete)
        {
            // The item is gone by now: its size is unknown, so it is taken as at least 1 KB, with an entry in every index.
            var shape = await ShapeAsync(delete.TableName, cancellationToken);
            return (delete.TableName, Transactional(Kilobyte) * (1 + shape.Indexes.Count));
        }

        if (action.ConditionCheck is { } check)
        {
            var stored = await StoredAsync(check.TableName, check.Key, cancellationToken) ?? check.Key;
            return (check.TableName, Transactional(ItemSize(stored)));
        }

        throw new InvalidOperationException("A TransactWriteItem with no action.");
    }

    /// <summary>2 WRU per started KB, at least one KB.</summary>
    private static double Transactional(long bytes) => 2 * Math.Max(1, (bytes + Kilobyte - 1) / Kilobyte);

    private async Task<TableShape> ShapeAsync(string table, CancellationToken cancellationToken)
    {
        if (!_tables.TryGetValue(table, out var shape))
        {
            var description = (await dynamo.DescribeTableAsync(table, cancellationToken)).Table;
            shape = new TableShape(
                description.KeySchema.Select(k => k.AttributeName).ToList(),
                (description.GlobalSecondaryIndexes ?? []).Select(i => new IndexShape(
                    i.KeySchema.Select(k => k.AttributeName).ToList(),
                    i.Projection.ProjectionType == ProjectionType.ALL,
                    i.Projection.NonKeyAttributes ?? [])).ToList());
            _tables[table] = shape;
        }

        return shape;
    }

    private async Task<Dictionary<string, AttributeValue>?> StoredAsync(string table, Dictionary<string, AttributeValue> key, CancellationToken cancellationToken)
    {
        var id = table + "\n" + string.Join("\n", key.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => k.Key + "=" + (k.Value.S ?? k.Value.N)));
        if (!_items.TryGetValue(id, out var item))
        {
            var read = await dynamo.GetItemAsync(new GetItemRequest { TableName = table, Key = key, ConsistentRead = true }, cancellationToken);
            item = read.IsItemSet ? read.Item : null;
            _items[id] = item;
        }

        return item;
    }

    /// <summary>An item's size as DynamoDB computes it: each attribute's name and value.</summary>
    public static long ItemSize(IReadOnlyDictionary<string, AttributeValue> item) => item.Sum(a => AttributeSize(a.Key, a.Value));

    private static long AttributeSize(string name, AttributeValue value) => Encoding.UTF8.GetByteCount(name) + ValueSize(value);

    /// <summary>
    /// Strings their UTF-8 bytes, numbers 1 byte per two significant digits plus 1, binaries their bytes, booleans and
    /// nulls 1 byte, lists and maps 3 bytes plus 1 byte per element plus the elements, sets the sum of their elements.
    /// </summary>
    public static long ValueSize(AttributeValue value) =>
        value.S is not null ? Encoding.UTF8.GetByteCount(value.S)
        : value.N is not null ? NumberSize(value.N)
        : value.B is not null ? value.B.Length
        : value.BOOL is not null || value.NULL is not null ? 1
        : value.M is { } map && (value.IsMSet || map.Count > 0) ? 3 + map.Sum(e => 1 + AttributeSize(e.Key, e.Value))
        : value.L is { } list && (value.IsLSet || list.Count > 0) ? 3 + list.Sum(e => 1 + ValueSize(e))
        : value.SS is { Count: > 0 } strings ? strings.Sum(s => (long)Encoding.UTF8.GetByteCount(s))
        : value.NS is { Count: > 0 } numbers ? numbers.Sum(NumberSize)
        : value.BS is { Count: > 0 } binaries ? binaries.Sum(b => b.Length)
        : 0;

    private static long NumberSize(string number)
    {
        var mantissa = number.Split('e', 'E')[0].TrimStart('-', '+').Replace(".", "", StringComparison.Ordinal).Trim('0');
        return ((Math.Max(1, mantissa.Length) + 1) / 2) + 1;
    }

    private sealed record TableShape(IReadOnlyList<string> Keys, IReadOnlyList<IndexShape> Indexes);

    private sealed record IndexShape(IReadOnlyList<string> Keys, bool ProjectsAll, IReadOnlyList<string> NonKeyAttributes)
    {
        public bool Projects(string attribute) => ProjectsAll || NonKeyAttributes.Contains(attribute, StringComparer.Ordinal);

        /// <summary>The entry's projected attributes, the table's and the index's keys, and 100 bytes.</summary>
        public long EntrySize(IReadOnlyDictionary<string, AttributeValue> item, IReadOnlyList<string> tableKeys) =>
            IndexEntryOverhead + item.Where(a => ProjectsAll || tableKeys.Contains(a.Key) || Keys.Contains(a.Key) || NonKeyAttributes.Contains(a.Key))
                .Sum(a => AttributeSize(a.Key, a.Value));
    }

    /// <summary>
    /// What an update expression changes, enough to size the item after it: the top-level attributes it touches, and
    /// the values it sets. The item after is the item as stored now with those values laid over it (a value computed
    /// from the stored one, such as <c>stock - :q</c>, keeps the larger of the two); the item as stored now stands for
    /// the item before, which the bench cannot read without counting it.
    /// </summary>
    private sealed class UpdateChanges
    {
        private readonly List<(string Attribute, Func<AttributeValue?, AttributeValue?> Change)> _changes = [];

        public HashSet<string> Touched { get; } = new(StringComparer.Ordinal);

        public static UpdateChanges Parse(string expression, Dictionary<string, string>? names, Dictionary<string, AttributeValue>? values)
        {
            var changes = new UpdateChanges();
            foreach (var (verb, body) in Clauses(expression))
            {
                foreach (var action in SplitTopLevel(body, ','))
                {
                    var text = action.Trim();
                    var (pathText, operand) = verb switch
                    {
                        "SET" => (text[..text.IndexOf('=', StringComparison.Ordinal)].Trim(), text[(text.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim()),
                        "REMOVE" => (text, ""),
                        _ => (text[..text.IndexOfAny([' ', '\t'])].Trim(), text[text.IndexOfAny([' ', '\t'])..].Trim()),
                    };
                    var nested = pathText.IndexOfAny(['.', '[']) >= 0;
                    var top = pathText.Split('.', '[')[0];
                    var attribute = top.StartsWith('#') && names is not null && names.TryGetValue(top, out var name) ? name : top;
                    changes.Touched.Add(attribute);
                    var operandValues = ValueTokens(operand).Select(v => values is not null && values.TryGetValue(v, out var value) ? value : null).OfType<AttributeValue>().ToList();
                    changes._changes.Add((attribute, Change(verb, operand, nested, operandValues)));
                }
            }

            return changes;
        }

        public Dictionary<string, AttributeValue> Apply(IReadOnlyDictionary<string, AttributeValue> stored)
        {
            var after = new Dictionary<string, AttributeValue>(stored, StringComparer.Ordinal);
            foreach (var (attribute, change) in _changes)
            {
                if (change(after.GetValueOrDefault(attribute)) is { } value)
                {
                    after[attribute] = value;
                }
                else
                {
                    after.Remove(attribute);
                }
            }

            return after;
        }

        private static Func<AttributeValue?, AttributeValue?> Change(string verb, string operand, bool nested, List<AttributeValue> operandValues)
        {
            if (verb == "REMOVE")
            {
                return current => nested ? current : null;
            }

            if (verb == "DELETE")
            {
                return current => current;
            }

            var plainValue = operandValues.Count == 1 && ValueTokens(operand) is [var only] && only == operand;
            return current =>
            {
                if (!nested && plainValue && verb == "SET")
                {
                    return operandValues[0];
                }

                // Computed, nested or added: at most the stored value grown by every value the action names.
                var largest = operandValues.OrderByDescending(ValueSize).FirstOrDefault();
                if (current is null)
                {
                    return largest;
                }

                return nested || verb == "ADD" && current.N is null || operand.Contains("list_append", StringComparison.OrdinalIgnoreCase)
                    ? Grown(current, operandValues)
                    : largest is not null && ValueSize(largest) > ValueSize(current) ? largest : current;
            };
        }

        /// <summary>A stand-in of the stored value's size plus the values' sizes (a string of that many bytes).</summary>
        private static AttributeValue Grown(AttributeValue current, IReadOnlyList<AttributeValue> added) =>
            new() { S = new string('x', (int)(ValueSize(current) + added.Sum(ValueSize))) };

        private static List<string> ValueTokens(string text)
        {
            var tokens = new List<string>();
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == ':')
                {
                    var end = i + 1;
                    while (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_'))
                    {
                        end++;
                    }

                    tokens.Add(text[i..end]);
                    i = end - 1;
                }
            }

            return tokens;
        }

        private static IEnumerable<(string Verb, string Body)> Clauses(string expression)
        {
            string[] verbs = ["SET", "REMOVE", "ADD", "DELETE"];
            var starts = new List<(int At, string Verb)>();
            var depth = 0;
            for (var i = 0; i < expression.Length; i++)
            {
                depth += expression[i] == '(' ? 1 : expression[i] == ')' ? -1 : 0;
                if (depth == 0 && (i == 0 || !IsWord(expression[i - 1])))
                {
                    foreach (var verb in verbs)
                    {
                        if (string.Compare(expression, i, verb, 0, verb.Length, StringComparison.OrdinalIgnoreCase) == 0
                            && (i + verb.Length == expression.Length || !IsWord(expression[i + verb.Length])))
                        {
                            starts.Add((i, verb));
                        }
                    }
                }
            }

            for (var k = 0; k < starts.Count; k++)
            {
                var from = starts[k].At + starts[k].Verb.Length;
                var to = k + 1 < starts.Count ? starts[k + 1].At : expression.Length;
                yield return (starts[k].Verb, expression[from..to]);
            }
        }

        private static bool IsWord(char c) => char.IsLetterOrDigit(c) || c is '_' or '#' or ':';

        private static IEnumerable<string> SplitTopLevel(string text, char separator)
        {
            var depth = 0;
            var start = 0;
            for (var i = 0; i < text.Length; i++)
            {
                depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
                if (depth == 0 && text[i] == separator)
                {
                    yield return text[start..i];
                    start = i + 1;
                }
            }

            if (!string.IsNullOrWhiteSpace(text[start..]))
            {
                yield return text[start..];
            }
        }
    }
}
