# One queue (plus a DLQ when the scenario has a redrive policy) and the two idempotency tables per
# scenario. Everything is keyed by scenario name, so adding a scenario file never renames (and so
# never replaces) another scenario's resources.

locals {
  tags = {
    "qsim:managed"        = "true"
    "qsim:provisioned-by" = "terraform"
  }

  # SQS requires FIFO queue names to end in ".fifo", after any other suffix.
  queue_names = {
    for name, s in var.scenarios : name => "${var.name_prefix}-${name}${s.fifo ? ".fifo" : ""}"
  }

  with_dlq = { for name, s in var.scenarios : name => s if s.max_receive_count != null }
}

# Created before the main queue, whose redrive policy names its ARN. A FIFO queue can only
# redrive to a FIFO DLQ.
resource "aws_sqs_queue" "dlq" {
  for_each = local.with_dlq

  name                        = "${var.name_prefix}-${each.key}-dlq${each.value.fifo ? ".fifo" : ""}"
  fifo_queue                  = each.value.fifo
  content_based_deduplication = each.value.fifo ? each.value.content_based_deduplication : null
  deduplication_scope         = each.value.deduplication_scope
  fifo_throughput_limit       = each.value.fifo_throughput_limit
  visibility_timeout_seconds  = each.value.visibility_timeout_seconds
  # The maximum: a redriven message keeps its original enqueue time, so a DLQ that retains no
  # longer than the main queue would expire messages soon after they land in it.
  message_retention_seconds = 1209600

  tags = merge(local.tags, { "qsim:scenario" = each.key, "qsim:role" = "dlq" })
}

resource "aws_sqs_queue" "main" {
  for_each = var.scenarios

  name                        = local.queue_names[each.key]
  fifo_queue                  = each.value.fifo
  content_based_deduplication = each.value.fifo ? each.value.content_based_deduplication : null
  deduplication_scope         = each.value.deduplication_scope
  fifo_throughput_limit       = each.value.fifo_throughput_limit
  visibility_timeout_seconds  = each.value.visibility_timeout_seconds
  receive_wait_time_seconds   = each.value.receive_wait_time_seconds
  delay_seconds               = each.value.delay_seconds
  message_retention_seconds   = each.value.message_retention_seconds

  redrive_policy = each.value.max_receive_count == null ? null : jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })

  tags = merge(local.tags, { "qsim:scenario" = each.key, "qsim:role" = "main" })
}

# qsim's tables are keyed by the string attribute `pk` (the idempotency key: a message id or a
# business key, depending on the scenario), not by `message_id`.
resource "aws_dynamodb_table" "status" {
  for_each = var.scenarios

  name         = "${var.name_prefix}-${each.key}-status"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  tags = merge(local.tags, { "qsim:scenario" = each.key, "qsim:role" = "status" })
}

resource "aws_dynamodb_table" "side_effects" {
  for_each = var.scenarios

  name         = "${var.name_prefix}-${each.key}-side-effects"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  tags = merge(local.tags, { "qsim:scenario" = each.key, "qsim:role" = "side-effects" })
}
