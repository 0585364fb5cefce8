#!/usr/bin/env python3
"""A consumer that deletes each message as soon as it receives it, then does the work.

Teams write this to stop duplicates ("once it is deleted nobody else gets it"). It trades them for
lost work: a consumer killed between the delete and the side effect (a crash, an OOM kill, SIGKILL
after a deploy's grace period) has removed a message whose work never happened, and nothing brings
it back.

Environment: QUEUE_URL, SIDE_EFFECTS_TABLE, WORK_SECONDS (default 0), and the AWS SDK's own
AWS_ENDPOINT_URL / AWS_REGION / credentials.
"""
import json
import os
import signal
import time

import boto3

queue_url = os.environ["QUEUE_URL"]
side_effects = os.environ["SIDE_EFFECTS_TABLE"]
work_seconds = float(os.environ.get("WORK_SECONDS", "0"))
sqs = boto3.client("sqs")
dynamodb = boto3.client("dynamodb")

# SIGTERM: finish the message in hand, then exit 0 (SIGKILL gives no such chance).
stopping = False
in_hand = False


def stop(signum, frame):
    global stopping
    stopping = True
    if not in_hand:
        # Idle in a long poll: nothing to finish, so leave now rather than when the poll ends.
        raise SystemExit(0)


signal.signal(signal.SIGTERM, stop)

while not stopping:
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=20)
    for message in response.get("Messages", []):
        in_hand = True
        # Deleted first: from here on, the work exists only in this process's memory.
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        order = json.loads(message["Body"])
        time.sleep(work_seconds)
        dynamodb.update_item(
            TableName=side_effects,
            Key={"pk": {"S": order["id"]}},
            UpdateExpression="ADD #count :one SET #message = :id",
            ExpressionAttributeNames={"#count": "count", "#message": "message"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":id": {"S": order["id"]}},
        )
        in_hand = False
