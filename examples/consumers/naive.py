#!/usr/bin/env python3
"""A consumer as most teams first write it: receive, do the work, delete. No idempotency.

It is correct as long as every message is delivered once. SQS promises at least once: a message
whose visibility timeout runs out during the work (or whose consumer dies before the delete) is
delivered again, and this consumer then does its side effect a second time.

Configuration comes from the environment, as `qsim` (or a deployment) gives it: QUEUE_URL,
SIDE_EFFECTS_TABLE, WORK_SECONDS (how long one message's work takes, default 0), and the AWS SDK's
own AWS_ENDPOINT_URL / AWS_REGION / credentials.
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

# SIGTERM (a deploy, a scale-in) asks us to stop: finish the message in hand, then exit 0.
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
    # Long polling: one call waits up to 20 s for a message instead of spinning on empty answers.
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=20)
    for message in response.get("Messages", []):
        in_hand = True
        order = json.loads(message["Body"])
        time.sleep(work_seconds)  # the real work would be here
        # The side effect (an email, a charge...): counted per message so duplicates show.
        dynamodb.update_item(
            TableName=side_effects,
            Key={"pk": {"S": order["id"]}},
            UpdateExpression="ADD #count :one SET #message = :id",
            ExpressionAttributeNames={"#count": "count", "#message": "message"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":id": {"S": order["id"]}},
        )
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        in_hand = False
