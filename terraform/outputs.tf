# Read by `qsim run FILE --backend aws --resources resources.json`, where resources.json is what
# `terraform output -json` prints. Field names are part of that contract (src/infra/resources.rs).
output "qsim_resources" {
  description = "Per scenario: the queues and tables qsim uses instead of creating its own."
  value = {
    for name, s in var.scenarios : name => {
      queue_url          = aws_sqs_queue.main[name].url
      queue_arn          = aws_sqs_queue.main[name].arn
      dlq_url            = try(aws_sqs_queue.dlq[name].url, null)
      dlq_arn            = try(aws_sqs_queue.dlq[name].arn, null)
      status_table       = aws_dynamodb_table.status[name].name
      side_effects_table = aws_dynamodb_table.side_effects[name].name
      fifo               = s.fifo
    }
  }
}
