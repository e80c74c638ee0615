#!/usr/bin/env python3
r"""LocalStack init hook: create every DynamoDB table and SQS queue declared in
the repository's template.yaml.

For users who run real LocalStack with Docker. Mount this folder and
the template into the container, e.g.

    docker run --rm -p 4566:4566 \
      -v "$PWD/localstack/init/ready.d:/etc/localstack/init/ready.d:ro" \
      -v "$PWD/template.yaml:/etc/localstack/init/template.yaml:ro" \
      -e STACK_NAME=orderprocessing \
      localstack/localstack

LocalStack runs this script when it is ready. template.yaml is the single
source of truth: this script holds no list of resources of its own, it reads
every AWS::DynamoDB::Table and AWS::SQS::Queue from the template (keys, GSIs,
TTL, streams; queue attributes, DLQs and redrive policies) and creates it.
Running it again is harmless: existing tables and queues are kept (their TTL
and queue attributes are brought in line with the template).

Environment:
    TEMPLATE_PATH       template to read (default /etc/localstack/init/template.yaml,
                        else template.yaml at the repository root)
    STACK_NAME          value of ${AWS::StackName} (default orderprocessing)
    AWS_DEFAULT_REGION  region (default us-east-1)
    AWS_ENDPOINT_URL    endpoint (default http://localhost:4566)
    PARAMETER_OVERRIDES template parameters, "Key=Value Key2=Value2" (as in samconfig)
    DRY_RUN=1           print what would be created; no AWS calls (boto3 not needed)

Needs PyYAML; boto3 only when not a dry run (both ship in the LocalStack image).
"""

import json
import os
import sys
import time
from pathlib import Path

import yaml

ACCOUNT_ID = "000000000000"  # LocalStack's default account

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"


# ---------------------------------------------------------------------------
# Template loading: CloudFormation short-form tags -> long form
# ---------------------------------------------------------------------------

class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands !Ref, !Sub, !GetAtt, !If, ... ."""


def _construct_node(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _cfn_tag(loader, tag_suffix, node):
    value = _construct_node(loader, node)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::" + tag_suffix: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


# ---------------------------------------------------------------------------
# Intrinsic function resolution (the subset a resource definition needs)
# ---------------------------------------------------------------------------

class Resolver:
    def __init__(self, template, stack_name, region, overrides=None):
        self.template = template
        self.region = region
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        self.parameters = {}
        for name, spec in (template.get("Parameters") or {}).items():
            if overrides and name in overrides:
                self.parameters[name] = overrides[name]
            elif "Default" in spec:
                self.parameters[name] = spec["Default"]
        self.attributes = {}  # (logical id, attribute) -> value, filled as resources are created
        self.refs = {}  # logical id -> value of !Ref, filled as resources are created
        self._conditions = {}

    def condition(self, name):
        if name not in self._conditions:
            expr = (self.template.get("Conditions") or {})[name]
            self._conditions[name] = bool(self.resolve(expr))
        return self._conditions[name]

    def resolve(self, value):
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._fn(key[4:], arg)
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not None}

    def _ref(self, name):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"cannot resolve !Ref {name} (not a parameter, or not created yet)")

    def _fn(self, fn, arg):
        if fn == "Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return self._sub(text, variables)
        if fn == "GetAtt":
            resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if (resource, attribute) not in self.attributes:
                raise KeyError(f"cannot resolve !GetAtt {resource}.{attribute} (not created yet)")
            return self.attributes[(resource, attribute)]
        if fn == "If":
            name, when_true, when_false = arg
            return self.resolve(when_true if self.condition(name) else when_false)
        if fn == "Equals":
            a, b = self.resolve(arg)
            return str(a) == str(b)
        if fn == "Not":
            return not self.resolve(arg[0])
        if fn == "And":
            return all(self.resolve(a) for a in arg)
        if fn == "Or":
            return any(self.resolve(a) for a in arg)
        if fn == "Join":
            sep, items = arg
            return sep.join(str(i) for i in self.resolve(items))
        if fn == "Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        raise ValueError(f"unsupported intrinsic function Fn::{fn}")

    def _sub(self, text, variables):
        out, i = [], 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.index("}", start)
            name = text[start + 2:end]
            if name.startswith("!"):  # ${!Literal}
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name and name.split(".", 1)[0] not in self.pseudo and not name.startswith("AWS::"):
                out.append(str(self._fn("GetAtt", name)))
            else:
                out.append(str(self._ref(name)))
            i = end + 1
        return "".join(out)


# ---------------------------------------------------------------------------
# Ordering: create what a resource references (a DLQ) before the resource
# ---------------------------------------------------------------------------

def _references(value):
    """Logical ids referenced by !Ref / !GetAtt / ${X} / ${X.Attr} inside value."""
    found = set()
    if isinstance(value, list):
        for v in value:
            found |= _references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                pos = 0
                while (start := text.find("${", pos)) >= 0:
                    end = text.index("}", start)
                    found.add(text[start + 2:end].split(".", 1)[0])
                    pos = end + 1
                found |= _references(arg if isinstance(arg, str) else arg[1])
            else:
                found |= _references(arg)
    return found


def plan(template, resolver):
    """(logical id, resource) of every table and queue to create, dependencies first."""
    resources = template.get("Resources") or {}
    wanted = {
        lid: res for lid, res in resources.items()
        if res.get("Type") in (TABLE_TYPE, QUEUE_TYPE)
        and ("Condition" not in res or resolver.condition(res["Condition"]))
    }
    ordered, visiting, done = [], set(), set()

    def visit(lid):
        if lid in done:
            return
        if lid in visiting:
            raise ValueError(f"circular reference through {lid}")
        visiting.add(lid)
        for dep in sorted(_references(wanted[lid].get("Properties") or {})):
            if dep in wanted:
                visit(dep)
        visiting.discard(lid)
        done.add(lid)
        ordered.append((lid, wanted[lid]))

    for lid in wanted:  # template order, except where a dependency comes first
        visit(lid)
    return ordered


# ---------------------------------------------------------------------------
# Request building (pure: used by the dry run too)
# ---------------------------------------------------------------------------

def table_request(props):
    """create_table arguments and the TTL attribute (or None) for a table's resolved properties."""
    request = {
        "TableName": props["TableName"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(index_kind):
            request[index_kind] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")}
                for index in props[index_kind]
            ]
    stream = props.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    ttl = props.get("TimeToLiveSpecification")
    ttl_attribute = ttl["AttributeName"] if ttl and str(ttl.get("Enabled", True)).lower() == "true" else None
    return request, ttl_attribute


# Properties of AWS::SQS::Queue that are not SQS queue attributes.
_QUEUE_NON_ATTRIBUTES = {"QueueName", "Tags"}


def _attribute_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def queue_request(props):
    """(queue name, attributes) for a queue's resolved properties."""
    attributes = {k: _attribute_value(v) for k, v in props.items() if k not in _QUEUE_NON_ATTRIBUTES}
    return props["QueueName"], attributes


def queue_arn(region, name):
    return f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}"


# ---------------------------------------------------------------------------
# Provisioning
# ---------------------------------------------------------------------------

def _clients(region, endpoint):
    import boto3  # lazily: a dry run works without boto3

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    session = boto3.session.Session(region_name=region)
    return session.client("dynamodb", endpoint_url=endpoint), session.client("sqs", endpoint_url=endpoint)


def ensure_table(dynamodb, request, ttl_attribute):
    name = request["TableName"]
    try:
        dynamodb.create_table(**request)
        print(f"created table {name}")
    except dynamodb.exceptions.ResourceInUseException:
        print(f"table {name} exists")
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if ttl_attribute:
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl_attribute, "Enabled": True})
            print(f"  ttl on {ttl_attribute}")


def ensure_queue(sqs, name, attributes):
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        print(f"queue {name} ready")
    except sqs.exceptions.QueueNameExists:
        # Exists with other attributes: keep it, bring the mutable ones in line.
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        mutable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if mutable:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=mutable)
        print(f"queue {name} exists (attributes updated)")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def provision(template_path, stack_name, region, endpoint, dry_run, overrides=None, out=print):
    template = load_template(template_path)
    resolver = Resolver(template, stack_name, region, overrides)
    dynamodb = sqs = None
    if not dry_run:
        dynamodb, sqs = _clients(region, endpoint)

    created = []
    for lid, resource in plan(template, resolver):
        props = resolver.resolve(resource.get("Properties") or {})
        if resource["Type"] == TABLE_TYPE:
            request, ttl_attribute = table_request(props)
            if dry_run:
                out(f"[dry run] table {lid}: {request['TableName']} "
                    f"keys={[(k['AttributeName'], k['KeyType']) for k in request['KeySchema']]} "
                    f"gsis={[i['IndexName'] for i in request.get('GlobalSecondaryIndexes', [])]} "
                    f"stream={request.get('StreamSpecification', {}).get('StreamViewType')} ttl={ttl_attribute}")
            else:
                ensure_table(dynamodb, request, ttl_attribute)
            resolver.refs[lid] = request["TableName"]
            resolver.attributes[(lid, "Arn")] = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{request['TableName']}"
            created.append((lid, "table", request["TableName"], request, ttl_attribute))
        else:
            name, attributes = queue_request(props)
            if dry_run:
                url = f"{endpoint}/{ACCOUNT_ID}/{name}"
                arn = queue_arn(region, name)
                out(f"[dry run] queue {lid}: {name} {json.dumps(attributes, sort_keys=True)}")
            else:
                url, arn = ensure_queue(sqs, name, attributes)
            resolver.refs[lid] = url
            resolver.attributes[(lid, "Arn")] = arn
            resolver.attributes[(lid, "QueueName")] = name
            resolver.attributes[(lid, "QueueUrl")] = url
            created.append((lid, "queue", name, attributes, None))
    return created


def _parse_overrides(text):
    overrides = {}
    for pair in (text or "").split():
        key, sep, value = pair.partition("=")
        if sep:
            overrides[key] = value
    return overrides


def _default_template_path():
    mounted = Path("/etc/localstack/init/template.yaml")
    if mounted.exists():
        return mounted
    return Path(__file__).resolve().parents[3] / "template.yaml"  # repo root


def main():
    template_path = Path(os.environ.get("TEMPLATE_PATH") or _default_template_path())
    stack_name = os.environ.get("STACK_NAME", "orderprocessing")
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
    dry_run = os.environ.get("DRY_RUN", "").lower() in ("1", "true", "yes")
    if not template_path.exists():
        print(f"template not found: {template_path} (mount template.yaml there or set TEMPLATE_PATH)",
              file=sys.stderr)
        return 1
    started = time.monotonic()
    created = provision(template_path, stack_name, region, endpoint, dry_run,
                        _parse_overrides(os.environ.get("PARAMETER_OVERRIDES")))
    tables = sum(1 for c in created if c[1] == "table")
    print(f"{'would provision' if dry_run else 'provisioned'} {tables} tables and "
          f"{len(created) - tables} queues for stack {stack_name} from {template_path} "
          f"in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
