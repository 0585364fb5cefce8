variable "region" {
  description = "AWS region of every queue and table."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every queue and table name: PREFIX-SCENARIO(-dlq)(.fifo), PREFIX-SCENARIO-status, PREFIX-SCENARIO-side-effects."
  type        = string
  default     = "qsim"

  validation {
    # SQS names allow [A-Za-z0-9_-] up to 80 characters; scenario names take up to 40 of them,
    # "-dlq.fifo" 9 more.
    condition     = can(regex("^[A-Za-z0-9_-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 30 characters of A-Z, a-z, 0-9, _ and -."
  }
}

variable "endpoint_url" {
  description = "Endpoint of an AWS-compatible emulator for SQS, DynamoDB and STS (e.g. http://127.0.0.1:5000 for moto_server). null = real AWS."
  type        = string
  default     = null
}

variable "scenarios" {
  description = "Queue settings per scenario, generated from the scenario files by `qsim infra tfvars > terraform/scenarios.auto.tfvars.json`. Do not edit by hand: the scenario files are the source of truth."
  type = map(object({
    fifo                        = bool
    visibility_timeout_seconds  = number
    receive_wait_time_seconds   = number
    delay_seconds               = number
    message_retention_seconds   = number
    content_based_deduplication = bool
    # SQS's values ("queue" / "messageGroup", "perQueue" / "perMessageGroupId"); null on a
    # standard queue, which takes neither.
    deduplication_scope   = optional(string)
    fifo_throughput_limit = optional(string)
    # null = no DLQ and no redrive policy.
    max_receive_count = optional(number)
  }))

  validation {
    condition     = alltrue([for name, _ in var.scenarios : can(regex("^[a-z0-9][a-z0-9-]{0,39}$", name))])
    error_message = "Scenario names match [a-z0-9][a-z0-9-]*, at most 40 characters (as in the scenario files)."
  }

  validation {
    condition = alltrue([for s in values(var.scenarios) :
      s.visibility_timeout_seconds >= 0 && s.visibility_timeout_seconds <= 43200 &&
      s.receive_wait_time_seconds >= 0 && s.receive_wait_time_seconds <= 20 &&
      s.delay_seconds >= 0 && s.delay_seconds <= 900 &&
      s.message_retention_seconds >= 60 && s.message_retention_seconds <= 1209600
    ])
    error_message = "Out of SQS's ranges: visibility 0..43200 s, receive wait 0..20 s, delay 0..900 s, retention 60..1209600 s."
  }

  validation {
    condition = alltrue([for s in values(var.scenarios) :
      # coalesce: a null count (no DLQ) is valid, and comparisons on null are errors.
      coalesce(s.max_receive_count, 1) >= 1 && coalesce(s.max_receive_count, 1) <= 1000
    ])
    error_message = "max_receive_count must be 1..1000, or null for no DLQ."
  }

  validation {
    condition     = alltrue([for s in values(var.scenarios) : s.fifo || !s.content_based_deduplication])
    error_message = "content_based_deduplication is for FIFO queues only."
  }

  validation {
    condition = alltrue([for s in values(var.scenarios) :
      s.fifo ? (
        contains(["queue", "messageGroup"], coalesce(s.deduplication_scope, "queue")) &&
        contains(["perQueue", "perMessageGroupId"], coalesce(s.fifo_throughput_limit, "perQueue")) &&
        # SQS allows a per-group quota only with deduplication per group.
        (coalesce(s.fifo_throughput_limit, "perQueue") == "perQueue" || coalesce(s.deduplication_scope, "queue") == "messageGroup")
      ) : s.deduplication_scope == null && s.fifo_throughput_limit == null
    ])
    error_message = "deduplication_scope (queue, messageGroup) and fifo_throughput_limit (perQueue, perMessageGroupId) are for FIFO queues only; perMessageGroupId needs messageGroup."
  }
}
