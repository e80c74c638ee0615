#!/usr/bin/env python3
"""Whether DynamoDB Local keeps the writes it acknowledged when it is stopped while writing.

Starts DynamoDB Local (the jar of localstack/) on a free port with its data in a folder (-dbPath), has 12 threads
write one-item transactions for 3 s, stops it with SIGKILL or SIGTERM (or not at all), starts it again on the same
folder and reads back every item it had acknowledged. DynamoDB never loses an acknowledged write; this shows why the
outage test cuts the network in front of DynamoDB Local instead of stopping it. Run from the repository root:
python3 bench/dynamodb-local-durability.py [trials] (needs boto3 and Java).
"""
import pathlib, shutil, signal, socket, subprocess, sys, tempfile, threading, time, uuid

import boto3
from botocore.config import Config

jar = pathlib.Path(__file__).resolve().parent.parent / "localstack/node_modules/amplify-dynamodb-simulator/emulator"
config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5)


def trial(stop):
    data = pathlib.Path(tempfile.mkdtemp(prefix="ddb-durability-"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    def start():
        return subprocess.Popen(["java", f"-Djava.library.path={jar / 'DynamoDBLocal_lib'}", "-jar", str(jar / "DynamoDBLocal.jar"),
                                 "-sharedDb", "-port", str(port), "-dbPath", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client():
        return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local", config=config)

    def ready(dynamo):
        for _ in range(240):
            try:
                dynamo.list_tables()
                return
            except Exception:
                time.sleep(0.5)

    emulator = start()
    try:
        dynamo = client()
        ready(dynamo)
        dynamo.create_table(TableName="items", BillingMode="PAY_PER_REQUEST", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        acknowledged, lock, stopping = [], threading.Lock(), threading.Event()

        def write():
            own = client()
            while not stopping.is_set():
                key = str(uuid.uuid4())
                try:
                    own.transact_write_items(TransactItems=[{"Put": {"TableName": "items", "Item": {"id": {"S": key}, "body": {"S": "x" * 500}}}}])
                except Exception:
                    return
                with lock:
                    acknowledged.append(key)

        writers = [threading.Thread(target=write) for _ in range(12)]
        for writer in writers:
            writer.start()
        time.sleep(3)
        if stop is not None:
            emulator.send_signal(stop)
            emulator.wait()
        stopping.set()
        for writer in writers:
            writer.join()
        if stop is not None:
            emulator = start()
            ready(dynamo)
        lost = sum("Item" not in dynamo.get_item(TableName="items", Key={"id": {"S": key}}, ConsistentRead=True) for key in acknowledged)
        return len(acknowledged), lost
    finally:
        emulator.terminate()
        emulator.wait()
        shutil.rmtree(data, ignore_errors=True)


trials = int(sys.argv[1]) if len(sys.argv) > 1 else 5
for name, stop in (("not stopped", None), ("SIGTERM", signal.SIGTERM), ("SIGKILL", signal.SIGKILL)):
    results = [trial(stop) for _ in range(trials)]
    print(f"{name}: {trials} trials, {sum(a for a, _ in results)} transactions acknowledged, {sum(l for _, l in results)} of them lost "
          f"(per trial: {', '.join(f'{l}/{a}' for a, l in results)})")
