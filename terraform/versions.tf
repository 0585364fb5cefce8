terraform {
  # 1.3: optional() object attributes in var.scenarios.
  required_version = ">= 1.3.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100.0 (the local provider mirror, /opt/tf-plugins). 6.x changes the
      # provider's configuration model, so it stays excluded until tested.
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  # An AWS-compatible emulator (moto_server, LocalStack) has no real account, credentials or
  # instance metadata: skip the checks that would call STS / IMDS before any resource is touched.
  skip_credentials_validation = var.endpoint_url != null
  skip_requesting_account_id  = var.endpoint_url != null
  skip_metadata_api_check     = var.endpoint_url != null

  # null leaves each service on its real AWS endpoint.
  endpoints {
    sqs      = var.endpoint_url
    dynamodb = var.endpoint_url
    sts      = var.endpoint_url
  }
}
