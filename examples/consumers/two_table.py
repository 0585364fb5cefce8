#!/usr/bin/env python3
"""The two-table pattern: a status table claims each message, a conditional write does the work once.

SQS delivers at least once, so any message may arrive twice, even to two consumers at the same
time. Before working, a consumer claims the message's id in STATUS_TABLE (STARTED, with a lease;
COMPLETED when done). A duplicate finds the claim and skips; a claim whose consumer died is taken
over once its lease ran out. The side effect itself is a conditional write in SIDE_EFFECTS_TABLE,
so even a takeover after the work already happened cannot do it twice.

Environment: QUEUE_URL, STATUS_TABLE, SIDE_EFFECTS_TABLE, WORK_SECONDS (default 0), LEASE_SECONDS
(default 30: at least the queue's visibility timeout), and the AWS SDK's own settings.
"""
import json
import os
import signal
import time

import boto3

queue_url = os.environ["QUEUE_URL"]
status_table = os.environ["STATUS_TABLE"]
side_effects = os.environ["SIDE_EFFECTS_TABLE"]
work_seconds = float(os.environ.get("WORK_SECONDS", "0"))
lease_seconds = float(os.environ.get("LEASE_SECONDS", "30"))
sqs = boto3.client("sqs")
dynamodb = boto3.client("dynamodb")

def claim(key):
    """"claimed" (a fresh claim, or one whose lease ran out), "completed" or "busy" (another
    consumer holds an unexpired claim)."""
    now = int(time.time() * 1000)
    lease = {"N": str(now + int(lease_seconds * 1000))}
    try:
        dynamodb.put_item(
            TableName=status_table,
            Item={"pk": {"S": key}, "status": {"S": "STARTED"}, "lease_until_ms": lease},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return "claimed"
    except dynamodb.exceptions.ConditionalCheckFailedException as claimed:
        existing = claimed.response.get("Item", {})
    if existing.get("status", {}).get("S") == "COMPLETED":
        return "completed"
    try:  # Taken over only if still STARTED and its lease expired: two takers cannot both win.
        dynamodb.update_item(
            TableName=status_table,
            Key={"pk": {"S": key}},
            UpdateExpression="SET #lease = :lease",
            ConditionExpression="#status = :started AND #lease <= :now",
            ExpressionAttributeNames={"#status": "status", "#lease": "lease_until_ms"},
            ExpressionAttributeValues={
                ":lease": lease, ":started": {"S": "STARTED"}, ":now": {"N": str(now)}
            },
        )
        return "claimed"
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return "busy"


def handle(message):
    key = json.loads(message["Body"])["id"]
    claimed = claim(key)
    if claimed == "completed":  # a duplicate of finished work
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    if claimed != "claimed":
        # Busy elsewhere: deleting it would lose the work if that consumer dies, so it stays
        # and comes back after its visibility timeout.
        return
    time.sleep(work_seconds)
    try:  # The side effect, at most once per key whatever happened to earlier claims.
        dynamodb.update_item(
            TableName=side_effects,
            Key={"pk": {"S": key}},
            UpdateExpression="ADD #count :one SET #message = :id",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeNames={"#count": "count", "#message": "message"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":id": {"S": key}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        pass  # done by an earlier claim that died before COMPLETED
    dynamodb.update_item(
        TableName=status_table,
        Key={"pk": {"S": key}},
        UpdateExpression="SET #status = :completed",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":completed": {"S": "COMPLETED"}},
    )
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# SIGTERM: finish the message in hand, then exit 0; idle in a long poll, leave at once.
stopping = False
in_hand = False


def stop(signum, frame):
    global stopping
    stopping = True
    if not in_hand:
        raise SystemExit(0)


signal.signal(signal.SIGTERM, stop)

while not stopping:
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=20)
    for message in response.get("Messages", []):
        in_hand = True
        handle(message)
        in_hand = False
