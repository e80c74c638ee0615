#!/usr/bin/env python3
"""What DynamoDB Local reports as ConsumedCapacity for the writes an order makes, next to what AWS bills.

Starts DynamoDB Local (the jar of localstack/) on a free port, in memory, and prints the write units it reports for a
PutItem, an UpdateItem and TransactWriteItems of one, two and three small items, with and without a GSI. AWS bills a
transactional write 2 WRU per item per KB; DynamoDB Local reports 4 per table and transaction, whatever the number of
items. Run from the repository root: python3 bench/dynamodb-local-capacity.py (needs boto3 and Java).
"""
import pathlib, socket, subprocess, time, uuid

import boto3

jar = pathlib.Path(__file__).resolve().parent.parent / "localstack/node_modules/amplify-dynamodb-simulator/emulator"
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
emulator = subprocess.Popen(["java", f"-Djava.library.path={jar / 'DynamoDBLocal_lib'}", "-jar", str(jar / "DynamoDBLocal.jar"), "-inMemory", "-port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    dynamo = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
    for _ in range(240):
        try:
            dynamo.list_tables()
            break
        except Exception:
            time.sleep(0.5)
    dynamo.create_table(TableName="plain", BillingMode="PAY_PER_REQUEST", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    dynamo.create_table(TableName="indexed", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "owner", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        GlobalSecondaryIndexes=[{"IndexName": "by-owner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}])

    def item():
        return {"id": {"S": str(uuid.uuid4())}, "owner": {"S": "client-1"}, "body": {"S": "x" * 600}}

    def units(consumed):
        return {c["TableName"]: {"table": c["Table"]["CapacityUnits"], **{k: v["CapacityUnits"] for k, v in c.get("GlobalSecondaryIndexes", {}).items()}}
                for c in (consumed if isinstance(consumed, list) else [consumed])}

    print("AWS bills: PutItem/UpdateItem 1 WRU per KB, TransactWriteItems 2 WRU per KB per item; an index entry written adds units of its own.")
    for table in ("plain", "indexed"):
        first = item()
        put = dynamo.put_item(TableName=table, Item=first, ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
        update = dynamo.update_item(TableName=table, Key={"id": first["id"]}, UpdateExpression="SET body = :b", ExpressionAttributeValues={":b": {"S": "y" * 600}},
                                    ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
        print(f"{table}: PutItem of a 0.6 KB item {units(put)}; UpdateItem {units(update)}")
        for count in (1, 2, 3):
            written = dynamo.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item()}} for _ in range(count)],
                                                  ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
            print(f"{table}: TransactWriteItems of {count} such item(s) {units(written)} (AWS: {2 * count} for the table)")
finally:
    emulator.terminate()
    emulator.wait()
