//! Where the AWS backend connects to, and how that becomes an SDK configuration.
//!
//! aws-config's default chain does the work (environment, profiles, SSO, instance roles;
//! AWS_REGION, AWS_PROFILE and AWS_ENDPOINT_URL included); explicit options override it.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::Region;

use crate::backend::{BackendError, BackendErrorKind};

/// Attempts per request, the first included: throttling and transient errors are retried by the
/// SDK's standard retry mode, with backoff, before an error reaches the engine.
const MAX_ATTEMPTS: u32 = 4;

/// Opening a TCP (and TLS) connection: an endpoint that does not accept within this is down.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt of one request, connection included, for everything but long polls: SQS and
/// DynamoDB answer in milliseconds, so an endpoint silent this long is not going to answer.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One call, every retry included: no call outlives this (long polls get their wait on top, see
/// [`long_poll_timeouts`]), so an endpoint that accepts connections and never answers cannot
/// hang a run.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);

/// The send rate an AWS-compatible endpoint is taken to sustain unless `--endpoint-max-rate`
/// says otherwise: moto_server on one core answers roughly 150-250 requests a second in this
/// project's moto_drain benchmark, and a scenario's consumers need three or four calls per message
/// sent, so a producer much faster than 50 messages a second outruns what it can show.
pub const CUSTOM_ENDPOINT_MAX_RATE: u32 = 50;

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
    pub provisioned: Option<super::ProvisionedQueues>,
    /// With `provisioned`: the queues and tables belong to another run (a parent qsim whose
    /// child process this is, or a team's own): used as they are, never checked, purged,
    /// emptied or key-prefixed.
    pub attach: bool,
    /// Messages per second the endpoint is declared to take (`--endpoint-max-rate`): scenarios
    /// whose producers send faster are skipped, saying so, instead of failing on timing.
    /// `None`: no bound (AWS itself).
    pub max_send_rate: Option<u32>,
}

impl AwsOptions {
    /// The aws-config loader with these options applied on top of the default chain. Callers
    /// that need more (tests pinning static credentials) add to it before `load()`.
    pub fn config_loader(&self) -> aws_config::ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(timeouts(Duration::ZERO));
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

    /// `qsim cleanup` with the flags that reach the same account and endpoint: what a person
    /// runs to delete what a run left behind.
    pub fn cleanup_command(&self) -> String {
        let mut command = String::from("qsim cleanup");
        for (flag, value) in [
            ("--region", &self.region),
            ("--profile", &self.profile),
            ("--endpoint-url", &self.endpoint_url),
        ] {
            if let Some(value) = value {
                command.push_str(&format!(" {flag} {value}"));
            }
        }
        command
    }

    /// Resolves the SDK configuration; fails early when no region can be found, since every
    /// later call would fail with a less helpful message.
    pub async fn load(&self) -> Result<aws_config::SdkConfig, BackendError> {
        let config = self.config_loader().load().await;
        require_region(&config)?;
        Ok(config)
    }
}

/// The timeouts of a call that may legitimately wait `wait` before the endpoint answers (a
/// ReceiveMessage long poll holds the response up to its WaitTimeSeconds, at most 20 s).
fn timeouts(wait: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(wait + ATTEMPT_TIMEOUT)
        .operation_timeout(wait + OPERATION_TIMEOUT)
        .build()
}

/// Per-call override for a ReceiveMessage long poll of `wait`: the default timeouts plus the
/// wait, so a poll is never cut short yet a silent endpoint still ends it.
pub(crate) fn long_poll_timeouts(wait: Duration) -> aws_sdk_sqs::config::Builder {
    aws_sdk_sqs::config::Builder::default().timeout_config(timeouts(wait))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_is_bounded_and_long_polls_get_their_wait_on_top() {
        let plain = timeouts(Duration::ZERO);
        assert_eq!(plain.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(plain.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(plain.operation_timeout(), Some(OPERATION_TIMEOUT));
        let poll = timeouts(Duration::from_secs(20));
        assert_eq!(
            poll.operation_attempt_timeout(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(poll.operation_timeout(), Some(Duration::from_secs(45)));
    }

    #[tokio::test]
    async fn loaded_configurations_carry_the_timeouts() {
        let options = AwsOptions {
            region: Some("us-east-1".into()),
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..AwsOptions::default()
        };
        let config = options.config_loader().load().await;
        let timeouts = config.timeout_config().expect("a timeout config");
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
    }
}
