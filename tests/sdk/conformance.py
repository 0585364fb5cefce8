#!/usr/bin/env python3
"""The boto3 conformance suite: documented SQS and DynamoDB behaviours, checked against any endpoint.

    python3 tests/sdk/conformance.py --endpoint http://127.0.0.1:5000 [--json OUT]

Each check is a unittest method whose docstring is the behaviour (first line) and the AWS page it
comes from (`Source:`). A check ends in one of three results:

- pass: the endpoint did what the documentation says;
- deviation: it answered, but not as documented (an assertion failed; its message is what the
  endpoint did, worded so that the same behaviour always gives the same text: no ids, no times);
- fail: the check could not run (an unexpected error, e.g. an operation the endpoint lacks).

The suite speaks only the protocol: it creates its own uniquely named queues and tables, deletes
them at the end, and uses nothing endpoint-specific, so it runs against moto_server, `qsim serve`
or anything else. Only the stdlib and boto3 (pytest is not assumed). Timeouts are short (visibility
1 s, waits of a few seconds) so that the whole suite takes seconds, not minutes.

Exit status: 0 every check passed, 1 some deviated or failed, 2 usage.
"""

import argparse
import json
import os
import sys
import threading
import time
import unittest
import uuid

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

SQS_API = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference"
SQS_GUIDE = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide"
DYNAMODB_API = "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference"
DYNAMODB_GUIDE = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide"

# Set by main() before the tests run: unittest builds the test cases itself, so the endpoint
# reaches them through the module rather than through a constructor.
ENDPOINT = None
RUN_ID = uuid.uuid4().hex[:8]


def client(service):
    # One attempt per call: a retry would hide the very error code a check looks at.
    config = Config(
        connect_timeout=3,
        read_timeout=30,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        # Emulators accept any credentials; real ones come from the environment when set.
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        config=config,
    )


VARYING = "; varies from run to run: "


def varying(summary, value):
    """An observation whose value may differ from run to run (an order an emulator scrambles at
    random): the summary is what the fidelity table shows, the value stays in the JSON."""
    return f"{summary}{VARYING}{value}"


def summary_of(observed):
    """The part of an observation that is the same on every run: what a fidelity table shows."""
    return observed.split(VARYING, 1)[0]


def error_code(error):
    """The documented error name: SQS's JSON protocol also sends the query protocol's
    `AWS.SimpleQueueService.X` code, which botocore keeps as QueryErrorCode."""
    details = error.response.get("Error", {})
    code = details.get("QueryErrorCode") or details.get("Code", "")
    return code.rsplit(".", 1)[-1].rsplit("#", 1)[-1]


class SqsCheck(unittest.TestCase):
    """Creates queues named for this run and deletes them when the check ends."""

    def setUp(self):
        self.sqs = client("sqs")

    def queue(self, suffix="", **attributes):
        name = f"conformance-{RUN_ID}-{len(self._cleanups)}{suffix}"
        values = {key: str(value) for key, value in attributes.items()}
        url = self.sqs.create_queue(QueueName=name, Attributes=values)["QueueUrl"]
        self.addCleanup(self.sqs.delete_queue, QueueUrl=url)
        return url

    def fifo_queue(self, **attributes):
        return self.queue(".fifo", FifoQueue="true", **attributes)

    def arn(self, url):
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def receive(self, url, wait=0, maximum=1, **extra):
        response = self.sqs.receive_message(
            QueueUrl=url,
            WaitTimeSeconds=wait,
            MaxNumberOfMessages=maximum,
            MessageSystemAttributeNames=["All"],
            **extra,
        )
        return response.get("Messages", [])

    def bodies(self, messages):
        return [m["Body"] for m in messages]

    def drain(self, url, expected, wait=2, deadline=6.0):
        """Receives (and deletes) until `expected` messages arrived or the deadline passed: a
        receive may return fewer messages than are available."""
        got = []
        stop = time.monotonic() + deadline
        while len(got) < expected and time.monotonic() < stop:
            messages = self.receive(url, wait=wait, maximum=10)
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.extend(messages)
        return self.bodies(got)

    def refused(self, call, **arguments):
        """The error code a call is refused with; None when it succeeded."""
        try:
            call(**arguments)
        except ClientError as error:
            return error_code(error)
        return None


class Visibility(SqsCheck):
    def test_hidden_while_in_flight_then_redelivered(self):
        """A received message is hidden for the visibility timeout, then delivered again.

        Source: {guide}/sqs-visibility-timeout.html
        """
        url = self.queue(VisibilityTimeout=1)
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        first = self.receive(url, wait=2)
        self.assertEqual(len(first), 1, "the message was not received at all")
        received_at = time.monotonic()
        hidden = self.receive(url)
        self.assertEqual(hidden, [], "delivered again while its visibility timeout ran")
        again = self.receive(url, wait=4)
        elapsed = time.monotonic() - received_at
        self.assertEqual(len(again), 1, "not delivered again after the visibility timeout")
        self.assertGreaterEqual(elapsed, 0.9, "delivered again before the timeout ran out")
        self.assertEqual(again[0]["MessageId"], first[0]["MessageId"], "a different message")

    def test_receive_count_counts_every_delivery(self):
        """ApproximateReceiveCount is 1 on the first delivery and grows by one with each.

        Source: {api}/API_ReceiveMessage.html
        """
        url = self.queue()
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        counts = []
        for _ in range(3):
            # A visibility timeout of 0 on the receive makes the message visible again at once.
            messages = self.receive(url, wait=2, VisibilityTimeout=0)
            counts.extend(m["Attributes"].get("ApproximateReceiveCount") for m in messages)
        self.assertEqual(counts, ["1", "2", "3"], f"receive counts {counts}")

    def test_change_visibility_zero_releases(self):
        """ChangeMessageVisibility with 0 makes an in-flight message visible again at once.

        Source: {api}/API_ChangeMessageVisibility.html
        """
        url = self.queue(VisibilityTimeout=30)
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        first = self.receive(url, wait=2)
        self.assertEqual(len(first), 1, "the message was not received at all")
        self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0
        )
        again = self.receive(url, wait=1)
        self.assertEqual(len(again), 1, "still hidden after a visibility change to 0")

    def test_change_visibility_extends_from_the_call(self):
        """ChangeMessageVisibility sets a new timeout counted from the call: the message stays
        hidden past the queue's timeout.

        Source: {api}/API_ChangeMessageVisibility.html
        """
        url = self.queue(VisibilityTimeout=1)
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        first = self.receive(url, wait=2)
        self.assertEqual(len(first), 1, "the message was not received at all")
        self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=4
        )
        hidden = self.receive(url, wait=2)
        self.assertEqual(hidden, [], "delivered again before the extended timeout ran out")


class Redrive(SqsCheck):
    def test_moved_to_the_dlq_after_max_receive_count(self):
        """With maxReceiveCount N a message is delivered N times, then moved to the dead-letter
        queue instead of being delivered again.

        Source: {guide}/sqs-dead-letter-queues.html
        """
        dlq = self.queue()
        policy = json.dumps({"deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": 2})
        url = self.queue(RedrivePolicy=policy)
        self.sqs.send_message(QueueUrl=url, MessageBody="poison")
        deliveries = 0
        for _ in range(3):
            deliveries += len(self.receive(url, wait=1, VisibilityTimeout=0))
        self.assertEqual(deliveries, 2, f"{deliveries} deliveries from the source queue")
        moved = self.receive(dlq, wait=2)
        self.assertEqual(self.bodies(moved), ["poison"], "the message is not in the DLQ")


    def test_message_move_task_returns_messages_to_the_source(self):
        """StartMessageMoveTask on a dead-letter queue moves its messages back to their source
        queue.

        Source: {api}/API_StartMessageMoveTask.html
        """
        dlq = self.queue()
        policy = json.dumps({"deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": 1})
        url = self.queue(RedrivePolicy=policy)
        self.sqs.send_message(QueueUrl=url, MessageBody="poison")
        for _ in range(2):
            self.receive(url, wait=1, VisibilityTimeout=0)
        self.sqs.start_message_move_task(SourceArn=self.arn(dlq))
        # The task runs asynchronously: give it a few seconds.
        back = self.drain(url, 1, wait=2, deadline=8.0)
        self.assertEqual(back, ["poison"], "the message did not come back to its source")

class Fifo(SqsCheck):
    def test_group_order(self):
        """A FIFO queue delivers the messages of one group in the order they were sent.

        Source: {guide}/FIFO-queues-understanding-logic.html
        """
        url = self.fifo_queue(ContentBasedDeduplication="true")
        sent = [f"a{i}" for i in range(1, 6)]
        for body in sent:
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
        got = self.drain(url, len(sent))
        self.assertEqual(got, sent, varying("delivered out of order", got))

    def test_group_blocked_while_in_flight(self):
        """While a message of a group is in flight, no later message of that group is delivered;
        other groups are.

        Source: {guide}/FIFO-queues-understanding-logic.html
        """
        url = self.fifo_queue(ContentBasedDeduplication="true", VisibilityTimeout=30)
        for body, group in [("a1", "a"), ("a2", "a"), ("b1", "b")]:
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
        first = self.bodies(self.receive(url, wait=2))
        self.assertEqual(first, ["a1"], f"the first receive returned {first}")
        rest = self.bodies(self.receive(url, wait=1, maximum=10))
        self.assertEqual(rest, ["b1"], f"with a1 in flight a receive returned {rest}")

    def test_redelivery_keeps_group_order(self):
        """When in-flight messages of a group time out together, they come back in order.

        Source: {guide}/FIFO-queues-understanding-logic.html
        """
        url = self.fifo_queue(ContentBasedDeduplication="true", VisibilityTimeout=1)
        sent = ["a1", "a2", "a3"]
        for body in sent:
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
        taken = self.bodies(self.receive(url, wait=2, maximum=10))
        self.assertEqual(taken, sent, f"the first receive returned {taken}")
        time.sleep(1.2)
        got = self.drain(url, len(sent))
        self.assertEqual(got, sent, varying("after the timeout, delivered out of order", got))

    def test_dedup_by_explicit_id(self):
        """A send whose MessageDeduplicationId was accepted moments ago is accepted but not
        delivered.

        Source: {api}/API_SendMessage.html
        """
        url = self.fifo_queue()
        for body in ["first", "second"]:
            self.sqs.send_message(
                QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId="d"
            )
        got = self.drain(url, 2, wait=1, deadline=2.0)
        self.assertEqual(got, ["first"], f"delivered {got}")

    def test_dedup_by_content(self):
        """With ContentBasedDeduplication, a second send of the same body within 5 minutes is
        accepted but not delivered.

        Source: {guide}/FIFO-queues-exactly-once-processing.html
        """
        url = self.fifo_queue(ContentBasedDeduplication="true")
        for _ in range(2):
            self.sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        got = self.drain(url, 2, wait=1, deadline=2.0)
        self.assertEqual(got, ["same"], f"delivered {got}")

    def test_dedup_remembered_after_delete(self):
        """The deduplication id is remembered for 5 minutes, also after the first message was
        received and deleted.

        Source: {guide}/FIFO-queues-exactly-once-processing.html
        """
        url = self.fifo_queue()
        send = dict(QueueUrl=url, MessageGroupId="g", MessageDeduplicationId="d")
        self.sqs.send_message(MessageBody="first", **send)
        self.assertEqual(self.drain(url, 1), ["first"], "the first send was not delivered")
        self.sqs.send_message(MessageBody="again", **send)
        got = self.bodies(self.receive(url, wait=1))
        self.assertEqual(got, [], f"the same id sent again after the delete delivered {got}")

    def test_receive_attempt_id_returns_the_same_messages(self):
        """A FIFO receive retried with the same ReceiveRequestAttemptId returns the same messages.

        Source: {api}/API_ReceiveMessage.html
        """
        url = self.fifo_queue(ContentBasedDeduplication="true", VisibilityTimeout=30)
        self.sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g")
        first = self.receive(url, wait=2, ReceiveRequestAttemptId="attempt-1")
        self.assertEqual(self.bodies(first), ["m"], "the first receive returned nothing")
        retried = self.bodies(self.receive(url, wait=1, ReceiveRequestAttemptId="attempt-1"))
        self.assertEqual(retried, ["m"], f"the retried receive returned {retried}")

    def test_dedup_scope_message_group(self):
        """With DeduplicationScope=messageGroup, one deduplication id in two groups is two
        messages.

        Source: {guide}/high-throughput-fifo.html
        """
        url = self.fifo_queue(DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
        for group in ["a", "b"]:
            self.sqs.send_message(
                QueueUrl=url, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="d"
            )
        got = sorted(self.drain(url, 2, wait=1, deadline=3.0))
        self.assertEqual(got, ["a", "b"], f"delivered {got}")

    def test_dedup_scope_and_throughput_limit_read_back(self):
        """GetQueueAttributes returns the DeduplicationScope and FifoThroughputLimit a FIFO queue
        was created with.

        Source: {api}/API_GetQueueAttributes.html
        """
        url = self.fifo_queue(DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
        names = ["DeduplicationScope", "FifoThroughputLimit"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        got = [attributes.get(name) for name in names]
        self.assertEqual(got, ["messageGroup", "perMessageGroupId"], f"read back {got}")

    def test_per_message_delay_refused(self):
        """A FIFO queue takes no per-message DelaySeconds, only the queue's.

        Source: {api}/API_SendMessage.html
        """
        url = self.fifo_queue()
        code = self.refused(
            self.sqs.send_message,
            QueueUrl=url,
            MessageBody="m",
            MessageGroupId="g",
            MessageDeduplicationId="d",
            DelaySeconds=1,
        )
        self.assertEqual(code, "InvalidParameterValue", f"answered {code or 'OK'}")


class Delay(SqsCheck):
    def test_queue_delay(self):
        """A queue's DelaySeconds hides every new message for that long.

        Source: {guide}/sqs-delay-queues.html
        """
        url = self.queue(DelaySeconds=1)
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        sent_at = time.monotonic()
        self.assertEqual(self.receive(url), [], "delivered during its delay")
        got = self.receive(url, wait=4)
        elapsed = time.monotonic() - sent_at
        self.assertEqual(len(got), 1, "not delivered after its delay")
        self.assertGreaterEqual(elapsed, 0.9, "delivered before its delay ran out")

    def test_message_delay_overrides_the_queue(self):
        """A message's own DelaySeconds replaces the queue's on a standard queue.

        Source: {guide}/sqs-message-timers.html
        """
        url = self.queue(DelaySeconds=0)
        self.sqs.send_message(QueueUrl=url, MessageBody="m", DelaySeconds=1)
        sent_at = time.monotonic()
        self.assertEqual(self.receive(url), [], "delivered during its delay")
        got = self.receive(url, wait=4)
        elapsed = time.monotonic() - sent_at
        self.assertEqual(len(got), 1, "not delivered after its delay")
        self.assertGreaterEqual(elapsed, 0.9, "delivered before its delay ran out")


class Purge(SqsCheck):
    def test_second_purge_within_60_seconds_refused(self):
        """A PurgeQueue within 60 seconds of the last one fails with PurgeQueueInProgress.

        Source: {api}/API_PurgeQueue.html
        """
        url = self.queue()
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        self.sqs.purge_queue(QueueUrl=url)
        code = self.refused(self.sqs.purge_queue, QueueUrl=url)
        self.assertEqual(code, "PurgeQueueInProgress", f"the second purge answered {code or 'OK'}")


class Batches(SqsCheck):
    def entries(self, count, size=1, prefix="e"):
        return [{"Id": f"{prefix}{i}", "MessageBody": "x" * size} for i in range(count)]

    def test_more_than_ten_entries(self):
        """A batch of more than 10 entries is refused with TooManyEntriesInBatchRequest.

        Source: {api}/API_SendMessageBatch.html
        """
        url = self.queue()
        code = self.refused(self.sqs.send_message_batch, QueueUrl=url, Entries=self.entries(11))
        self.assertEqual(code, "TooManyEntriesInBatchRequest", f"answered {code or 'OK'}")

    def test_empty_batch(self):
        """A batch without entries is refused with EmptyBatchRequest.

        Source: {api}/API_SendMessageBatch.html
        """
        url = self.queue()
        code = self.refused(self.sqs.send_message_batch, QueueUrl=url, Entries=[])
        self.assertEqual(code, "EmptyBatchRequest", f"answered {code or 'OK'}")

    def test_duplicate_entry_ids(self):
        """Two entries with one Id are refused with BatchEntryIdsNotDistinct.

        Source: {api}/API_SendMessageBatch.html
        """
        url = self.queue()
        entries = self.entries(2, prefix="same")
        for entry in entries:
            entry["Id"] = "same"
        code = self.refused(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        self.assertEqual(code, "BatchEntryIdsNotDistinct", f"answered {code or 'OK'}")

    def test_invalid_entry_id(self):
        """An entry Id outside [A-Za-z0-9_-] (80 at most) is refused with InvalidBatchEntryId.

        Source: {api}/API_SendMessageBatch.html
        """
        url = self.queue()
        entries = [{"Id": "not valid!", "MessageBody": "x"}]
        code = self.refused(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        self.assertEqual(code, "InvalidBatchEntryId", f"answered {code or 'OK'}")

    def test_batch_over_one_mib(self):
        """A batch whose bodies together exceed 1 MiB (1,048,576 bytes) is refused with
        BatchRequestTooLong.

        Source: {api}/API_SendMessageBatch.html
        """
        url = self.queue()
        entries = self.entries(5, size=220 * 1024)
        code = self.refused(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        self.assertEqual(code, "BatchRequestTooLong", f"answered {code or 'OK'}")

    def test_batch_over_256_kib_accepted(self):
        """A batch of 300 KiB is accepted: the limit is 1 MiB, no longer 256 KiB.

        Source: {api}/API_SendMessageBatch.html
        """
        url = self.queue()
        entries = self.entries(3, size=100 * 1024)
        code = self.refused(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        self.assertIsNone(code, f"refused with {code}")

    def test_delete_batch_of_eleven(self):
        """DeleteMessageBatch takes 10 entries at most too (TooManyEntriesInBatchRequest).

        Source: {api}/API_DeleteMessageBatch.html
        """
        url = self.queue()
        entries = [{"Id": f"e{i}", "ReceiptHandle": f"handle-{i}"} for i in range(11)]
        code = self.refused(self.sqs.delete_message_batch, QueueUrl=url, Entries=entries)
        self.assertEqual(code, "TooManyEntriesInBatchRequest", f"answered {code or 'OK'}")


class LongPolling(SqsCheck):
    def test_returns_as_soon_as_a_message_arrives(self):
        """A long poll returns as soon as a message is available, not at the end of its wait.

        Source: {guide}/sqs-short-and-long-polling.html
        """
        url = self.queue()
        sender = threading.Timer(
            0.5, lambda: client("sqs").send_message(QueueUrl=url, MessageBody="m")
        )
        sender.start()
        started = time.monotonic()
        got = self.receive(url, wait=6)
        elapsed = time.monotonic() - started
        sender.join()
        self.assertEqual(len(got), 1, "the long poll returned nothing")
        self.assertLess(elapsed, 4.0, "returned only at the end of its wait")

    def test_waits_when_the_queue_is_empty(self):
        """A long poll on an empty queue waits for WaitTimeSeconds before answering empty.

        Source: {api}/API_ReceiveMessage.html
        """
        url = self.queue()
        started = time.monotonic()
        got = self.receive(url, wait=1)
        elapsed = time.monotonic() - started
        self.assertEqual(got, [], "an empty queue returned a message")
        self.assertGreaterEqual(elapsed, 0.9, "returned before its wait ran out")


class DynamoDb(unittest.TestCase):
    """A table keyed `pk` (qsim's status and side-effects tables) and one keyed `pk` + `sk`."""

    @classmethod
    def setUpClass(cls):
        cls.dynamodb = client("dynamodb")
        cls.table = f"conformance-{RUN_ID}-items"
        cls.sorted_table = f"conformance-{RUN_ID}-sorted"
        cls.create(cls.table, [("pk", "HASH")])
        cls.create(cls.sorted_table, [("pk", "HASH"), ("sk", "RANGE")])

    @classmethod
    def create(cls, name, keys):
        cls.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in keys],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )
        cls.addClassCleanup(cls.dynamodb.delete_table, TableName=name)
        waiter = cls.dynamodb.get_waiter("table_exists")
        waiter.wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def key(self):
        """A fresh item key for one check."""
        return {"pk": {"S": f"{self._testMethodName}-{uuid.uuid4().hex[:6]}"}}

    def put_absent(self, key, **item):
        return self.dynamodb.put_item(
            TableName=self.table,
            Item={**key, **item},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def test_put_if_absent(self):
        """PutItem with attribute_not_exists(pk) fails with ConditionalCheckFailedException when
        the item exists.

        Source: {ddb_guide}/Expressions.ConditionExpressions.html
        """
        key = self.key()
        self.put_absent(key, status={"S": "STARTED"})
        try:
            self.put_absent(key, status={"S": "COMPLETED"})
            code = None
        except ClientError as error:
            code = error_code(error)
        self.assertEqual(code, "ConditionalCheckFailedException", f"answered {code or 'OK'}")

    def test_all_old_on_condition_failure(self):
        """ReturnValuesOnConditionCheckFailure=ALL_OLD returns the item that failed the condition.

        Source: {ddb_api}/API_PutItem.html
        """
        key = self.key()
        self.put_absent(key, status={"S": "STARTED"})
        try:
            self.put_absent(key, status={"S": "COMPLETED"})
            returned = "no error"
        except ClientError as error:
            returned = error.response.get("Item")
        self.assertEqual(
            returned, {**key, "status": {"S": "STARTED"}}, f"the error returned {returned!r}"
        )

    def test_conditional_update(self):
        """UpdateItem applies only when its ConditionExpression holds.

        Source: {ddb_api}/API_UpdateItem.html
        """
        key = self.key()
        self.put_absent(key, status={"S": "STARTED"})
        update = dict(
            TableName=self.table,
            Key=key,
            UpdateExpression="SET #status = :completed",
            ConditionExpression="#status = :started",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":completed": {"S": "COMPLETED"}, ":started": {"S": "STARTED"}},
        )
        self.dynamodb.update_item(**update)
        try:
            self.dynamodb.update_item(**update)
            code = None
        except ClientError as error:
            code = error_code(error)
        self.assertEqual(code, "ConditionalCheckFailedException", f"answered {code or 'OK'}")

    def test_add_starts_from_zero(self):
        """ADD on a missing number attribute (and a missing item) starts from 0: qsim's
        side-effect convention counts with it.

        Source: {ddb_guide}/Expressions.UpdateExpressions.html
        """
        key = self.key()
        update = dict(
            TableName=self.table,
            Key=key,
            UpdateExpression="ADD #count :one SET #message = :id",
            ExpressionAttributeNames={"#count": "count", "#message": "message"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":id": {"S": "m-1"}},
            ReturnValues="ALL_NEW",
        )
        counts = [self.dynamodb.update_item(**update)["Attributes"]["count"] for _ in range(2)]
        self.assertEqual(counts, [{"N": "1"}, {"N": "2"}], f"counts {counts}")

    def test_transaction_cancellation_reasons(self):
        """A TransactWriteItems whose condition fails writes nothing and names the reason per
        action (None for the others) in TransactionCanceledException.

        Source: {ddb_api}/API_TransactWriteItems.html
        """
        existing, fresh = self.key(), self.key()
        self.put_absent(existing)
        actions = [
            {"Put": {"TableName": self.table, "Item": fresh}},
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": existing,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self.dynamodb.transact_write_items(TransactItems=actions)
            code, reasons = None, []
        except ClientError as error:
            code = error_code(error)
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
        self.assertEqual(code, "TransactionCanceledException", f"answered {code or 'OK'}")
        self.assertEqual(reasons, ["None", "ConditionalCheckFailed"], f"reasons {reasons}")
        written = self.dynamodb.get_item(TableName=self.table, Key=fresh, ConsistentRead=True)
        self.assertNotIn("Item", written, "the transaction's other action was applied")

    def test_transaction_client_request_token_is_idempotent(self):
        """A TransactWriteItems repeated with the same ClientRequestToken (within 10 minutes)
        succeeds without being applied again.

        Source: {ddb_api}/API_TransactWriteItems.html
        """
        key = self.key()
        add_one = {
            "Update": {
                "TableName": self.table,
                "Key": key,
                "UpdateExpression": "ADD #count :one",
                "ExpressionAttributeNames": {"#count": "count"},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        for _ in range(2):
            self.dynamodb.transact_write_items(TransactItems=[add_one], ClientRequestToken="token-1")
        item = self.dynamodb.get_item(TableName=self.table, Key=key, ConsistentRead=True)
        count = item.get("Item", {}).get("count", {}).get("N")
        self.assertEqual(count, "1", f"count {count} after the same token twice")

    def test_transaction_twice_on_one_item(self):
        """Two actions of one TransactWriteItems on the same item are refused (ValidationException).

        Source: {ddb_api}/API_TransactWriteItems.html
        """
        key = self.key()
        actions = [{"Put": {"TableName": self.table, "Item": key}}] * 2
        try:
            self.dynamodb.transact_write_items(TransactItems=actions)
            code = None
        except ClientError as error:
            code = error_code(error)
        self.assertEqual(code, "ValidationException", f"answered {code or 'OK'}")

    def test_batch_write(self):
        """BatchWriteItem writes up to 25 items; 26 are refused (ValidationException).

        Source: {ddb_api}/API_BatchWriteItem.html
        """
        prefix = self.key()["pk"]["S"]
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": f"{prefix}-{i}"}}}} for i in range(26)
        ]
        response = self.dynamodb.batch_write_item(RequestItems={self.table: requests[:25]})
        # Unprocessed items are allowed (throttling); the caller retries them.
        unprocessed = response.get("UnprocessedItems", {}).get(self.table, [])
        keys = [{"pk": r["PutRequest"]["Item"]["pk"]} for r in requests[:25]]
        got = self.dynamodb.batch_get_item(
            RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}}
        )
        found = len(got["Responses"].get(self.table, []))
        self.assertEqual(found + len(unprocessed), 25, f"{found} written, {len(unprocessed)} unprocessed")
        try:
            self.dynamodb.batch_write_item(RequestItems={self.table: requests})
            code = None
        except ClientError as error:
            code = error_code(error)
        self.assertEqual(code, "ValidationException", f"26 requests answered {code or 'OK'}")

    def test_query_sorted_by_sort_key(self):
        """Query returns one partition's items ordered by sort key, reversed with
        ScanIndexForward=false.

        Source: {ddb_api}/API_Query.html
        """
        pk = self.key()["pk"]
        for sk in ["b", "c", "a"]:
            self.dynamodb.put_item(TableName=self.sorted_table, Item={"pk": pk, "sk": {"S": sk}})
        query = dict(
            TableName=self.sorted_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": pk},
            ConsistentRead=True,
        )
        forward = [i["sk"]["S"] for i in self.dynamodb.query(**query)["Items"]]
        backward = [
            i["sk"]["S"] for i in self.dynamodb.query(ScanIndexForward=False, **query)["Items"]
        ]
        self.assertEqual((forward, backward), (["a", "b", "c"], ["c", "b", "a"]),
                         f"forward {forward}, backward {backward}")

    def test_scan_pages_and_counts(self):
        """Scan stops at Limit and continues from LastEvaluatedKey; Select=COUNT counts only.

        Source: {ddb_api}/API_Scan.html
        """
        pk = self.key()["pk"]
        for sk in ["a", "b", "c", "d", "e"]:
            self.dynamodb.put_item(TableName=self.sorted_table, Item={"pk": pk, "sk": {"S": sk}})
        scan = dict(
            TableName=self.sorted_table,
            FilterExpression="pk = :pk",
            ExpressionAttributeValues={":pk": pk},
            ConsistentRead=True,
        )
        seen, pages, start = [], 0, {}
        while True:
            page = self.dynamodb.scan(Limit=2, **scan, **start)
            pages += 1
            seen.extend(i["sk"]["S"] for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        self.assertEqual(sorted(seen), ["a", "b", "c", "d", "e"], f"the pages held {sorted(seen)}")
        self.assertGreater(pages, 1, "Limit=2 did not page")
        counted = self.dynamodb.scan(Select="COUNT", **scan)
        self.assertEqual(counted.get("Count"), 5, f"Select=COUNT answered {counted.get('Count')}")
        self.assertNotIn("Items", counted, "Select=COUNT returned items")


CLASSES = [Visibility, Redrive, Fifo, Delay, Purge, Batches, LongPolling, DynamoDb]
SOURCES = {
    "api": SQS_API,
    "guide": SQS_GUIDE,
    "ddb_api": DYNAMODB_API,
    "ddb_guide": DYNAMODB_GUIDE,
}


def describe(test):
    """The behaviour (the docstring's first paragraph, on one line) and its source URL."""
    method = getattr(test, test._testMethodName)
    text = method.__doc__.format(**SOURCES)
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    source = next(p[len("Source: "):] for p in paragraphs if p.startswith("Source: "))
    return paragraphs[0], source


class Recorder(unittest.TestResult):
    """Keeps each check's result in run order, with what the endpoint did."""

    def __init__(self):
        super().__init__()
        self.checks = []

    def record(self, test, result, observed):
        behaviour, source = describe(test)
        self.checks.append(
            {
                "id": f"{type(test).__name__}.{test._testMethodName}",
                "behaviour": behaviour,
                "source": source,
                "result": result,
                "observed": observed,
                "summary": summary_of(observed),
            }
        )
        print(f"{result:9} {self.checks[-1]['id']}" + (f": {observed}" if observed else ""),
              file=sys.stderr)

    def addSuccess(self, test):
        self.record(test, "pass", "")

    def addFailure(self, test, err):
        # The assertion's own message is the observation; unittest prefixes the comparison.
        message = str(err[1])
        observed = message.split(" : ", 1)[-1] if " : " in message else message
        self.record(test, "deviation", observed)

    def addError(self, test, err):
        if isinstance(test, unittest.suite._ErrorHolder):
            # A class fixture failed (e.g. the endpoint has no DynamoDB): say so once.
            self.checks.append({"id": test.description, "behaviour": test.description,
                                "source": "", "result": "fail",
                                "observed": describe_error(err[1]),
                                "summary": describe_error(err[1])})
            print(f"fail      {test.description}: {describe_error(err[1])}", file=sys.stderr)
            return
        self.record(test, "fail", describe_error(err[1]))


def describe_error(error):
    """An unexpected error in words that do not change from run to run (no request ids)."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error_code(error)
        # botocore falls back to the HTTP status as the code when the answer names none.
        named = "" if code == str(status) else f"{code}, "
        return f"{error.operation_name} failed: {named}HTTP {status}"
    return f"{type(error).__name__}: {error}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="the endpoint URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    parser.add_argument("-k", metavar="NAME", action="append", default=[],
                        help="run only the checks whose id contains NAME (repeatable)")
    arguments = parser.parse_args()
    global ENDPOINT
    ENDPOINT = arguments.endpoint

    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for case in CLASSES:
        for test in loader.loadTestsFromTestCase(case):
            check_id = f"{case.__name__}.{test._testMethodName}"
            if not arguments.k or any(k in check_id for k in arguments.k):
                suite.addTest(test)
    started = time.monotonic()
    recorder = Recorder()
    suite.run(recorder)
    seconds = round(time.monotonic() - started, 1)
    counts = {r: sum(c["result"] == r for c in recorder.checks) for r in ["pass", "deviation", "fail"]}
    print(f"{counts['pass']} passed, {counts['deviation']} deviated, {counts['fail']} failed "
          f"in {seconds} s against {ENDPOINT}", file=sys.stderr)
    if arguments.json:
        document = {
            "endpoint": ENDPOINT,
            "boto3": boto3.__version__,
            "botocore": botocore.__version__,
            "seconds": seconds,
            "checks": recorder.checks,
        }
        with open(arguments.json, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
    return 0 if counts["pass"] == len(recorder.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
