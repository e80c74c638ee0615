namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// The tests CI runs a second time on moto_server (<c>ORDERPROCESSING_TEST_BACKEND=moto</c>, see .ci/run):
/// orders with idempotency, the stream outbox, the delivery pipeline to DELIVERED with a WebSocket client, and
/// auth with KMS signing. Mark one with <c>[Trait(MotoSet.Trait, MotoSet.Name)]</c>. The set runs one test at a
/// time and holds no race: moto 5's TransactWriteItems is not isolated from concurrent writes (a refused
/// transaction restores a snapshot, losing what was committed meanwhile), which AWS's is.
/// </summary>
public static class MotoSet
{
    public const string Trait = "Backend";
    public const string Name = "moto";
}
