//! Where the AWS backend connects to, and how that becomes an SDK configuration.
//!
//! aws-config's default chain does the work (environment, profiles, SSO, instance roles;
//! AWS_REGION, AWS_PROFILE and AWS_ENDPOINT_URL included); explicit options override it.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_sqs::config::Region;

use crate::backend::{BackendError, BackendErrorKind};

/// Attempts per request, the first included: throttling and transient errors are retried by the
/// SDK's standard retry mode, with backoff, before an error reaches the engine.
const MAX_ATTEMPTS: u32 = 4;

/// What `qsim run --backend aws` and `qsim cleanup` were told about the account to use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Overrides AWS_REGION and the profile's region.
    pub region: Option<String>,
    /// Overrides AWS_PROFILE.
    pub profile: Option<String>,
    /// Overrides AWS_ENDPOINT_URL: an AWS-compatible endpoint such as `http://127.0.0.1:5000`.
    pub endpoint_url: Option<String>,
    /// Keep the run's queues and tables instead of deleting them at teardown.
    pub keep: bool,
    /// Pre-provisioned queues and tables (`--resources`, from Terraform) to use instead of
    /// creating per-run ones; they are never deleted.
    pub provisioned: Option<crate::infra::ProvisionedQueues>,
}

impl AwsOptions {
    /// The aws-config loader with these options applied on top of the default chain. Callers
    /// that need more (tests pinning static credentials) add to it before `load()`.
    pub fn config_loader(&self) -> aws_config::ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint_url) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint_url);
        }
        loader
    }

    /// Resolves the SDK configuration; fails early when no region can be found, since every
    /// later call would fail with a less helpful message.
    pub async fn load(&self) -> Result<aws_config::SdkConfig, BackendError> {
        let config = self.config_loader().load().await;
        require_region(&config)?;
        Ok(config)
    }
}

/// A configuration without a region cannot sign a single request.
pub(crate) fn require_region(config: &aws_config::SdkConfig) -> Result<(), BackendError> {
    if config.region().is_none() {
        return Err(BackendError::new(
            "LoadConfig",
            "aws",
            BackendErrorKind::InvalidParameter(
                "no AWS region: pass --region, set AWS_REGION, or set one in the profile".into(),
            ),
        ));
    }
    Ok(())
}

/// Whether requests go to an endpoint other than AWS's own (moto, LocalStack, ...).
pub(crate) fn has_custom_endpoint(config: &aws_config::SdkConfig) -> bool {
    config.endpoint_url().is_some()
}
