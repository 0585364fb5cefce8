//! `qsim cleanup`: finds resources earlier runs left behind (a crash, `--keep`) and deletes
//! them.
//!
//! Invariant: a resource is deleted only when its name starts with [`RESOURCE_PREFIX`] AND it
//! carries the tag `qsim:managed=true` AND it is not tagged `qsim:provisioned-by=terraform`.
//! A `qsim-` name without the managed tag is someone else's; a Terraform-provisioned one is
//! Terraform's to destroy (`--resources` runs share it): both are reported as skipped, with the
//! reason, and never touched.

use std::collections::HashMap;

use aws_config::SdkConfig;

use super::call::Call;
use super::naming::{
    MANAGED_TAG, PROVISIONED_BY_TAG, RESOURCE_PREFIX, RUN_TAG, TERRAFORM, queue_name_from_url,
};
use super::options::{AwsOptions, require_region};
use crate::backend::{BackendError, BackendErrorKind};
use crate::sqs::facts::MAX_LIST_QUEUES_RESULTS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    Queue,
    Table,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Queue => "queue",
            ResourceKind::Table => "table",
        }
    }
}

/// One resource cleanup looked at.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CleanupEntry {
    pub kind: ResourceKind,
    pub name: String,
    /// The `qsim:run` tag, when present.
    pub run: Option<String>,
}

/// Why cleanup left a `qsim-` resource alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// No `qsim:managed=true` tag: not qsim's.
    NotManaged,
    /// Tagged `qsim:provisioned-by=terraform`: Terraform owns it.
    ProvisionedByTerraform,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NotManaged => "no qsim:managed=true tag: not qsim's",
            SkipReason::ProvisionedByTerraform => {
                "qsim:provisioned-by=terraform: remove it with `terraform destroy`"
            }
        }
    }
}

/// A resource cleanup left alone, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CleanupSkip {
    pub resource: CleanupEntry,
    pub reason: SkipReason,
}

/// A resource that matched but could not be inspected or deleted.
#[derive(Debug)]
pub struct CleanupFailure {
    pub resource: CleanupEntry,
    pub error: BackendError,
}

/// What cleanup did, each list sorted by kind and name.
#[derive(Debug, Default)]
pub struct CleanupReport {
    pub dry_run: bool,
    /// Deleted, or with `dry_run` the ones that would be.
    pub deleted: Vec<CleanupEntry>,
    /// `qsim-` names without the `qsim:managed=true` tag, or provisioned by Terraform: left
    /// alone.
    pub skipped: Vec<CleanupSkip>,
    pub failed: Vec<CleanupFailure>,
}

/// Lists `qsim-` queues and tables and deletes those tagged `qsim:managed=true` and not
/// `qsim:provisioned-by=terraform` (with `dry_run`, only reports them).
pub async fn cleanup(options: &AwsOptions, dry_run: bool) -> Result<CleanupReport, BackendError> {
    let config = options.load().await?;
    cleanup_with_config(&config, dry_run).await
}

/// As [`cleanup`], from an already loaded SDK configuration.
pub async fn cleanup_with_config(
    config: &SdkConfig,
    dry_run: bool,
) -> Result<CleanupReport, BackendError> {
    require_region(config)?;
    let sqs = aws_sdk_sqs::Client::new(config);
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let mut report = CleanupReport {
        dry_run,
        ..CleanupReport::default()
    };
    for url in list_queue_urls(&sqs).await? {
        let name = queue_name_from_url(&url).to_owned();
        let tags = Call::uncounted("ListQueueTags", &name)
            .send(sqs.list_queue_tags().queue_url(&url).send())
            .await;
        let tags = match tags {
            Ok(output) => output.tags().cloned().unwrap_or_default(),
            Err(error) => {
                record_failure(&mut report, ResourceKind::Queue, name, None, error);
                continue;
            }
        };
        let entry = entry(ResourceKind::Queue, name, &tags);
        if let Some(reason) = skip_reason(&tags) {
            report.skipped.push(CleanupSkip {
                resource: entry,
                reason,
            });
            continue;
        }
        if !dry_run
            && let Err(error) = Call::uncounted("DeleteQueue", &entry.name)
                .send(sqs.delete_queue().queue_url(&url).send())
                .await
        {
            record_failure(&mut report, entry.kind, entry.name, entry.run, error);
            continue;
        }
        report.deleted.push(entry);
    }
    for name in list_table_names(&dynamodb).await? {
        let tags = match table_tags(&dynamodb, &name).await {
            Ok(tags) => tags,
            Err(error) => {
                record_failure(&mut report, ResourceKind::Table, name, None, error);
                continue;
            }
        };
        let entry = entry(ResourceKind::Table, name, &tags);
        if let Some(reason) = skip_reason(&tags) {
            report.skipped.push(CleanupSkip {
                resource: entry,
                reason,
            });
            continue;
        }
        if !dry_run
            && let Err(error) = Call::uncounted("DeleteTable", &entry.name)
                .send(dynamodb.delete_table().table_name(&entry.name).send())
                .await
        {
            record_failure(&mut report, entry.kind, entry.name, entry.run, error);
            continue;
        }
        report.deleted.push(entry);
    }
    report.deleted.sort();
    report.skipped.sort();
    report.failed.sort_by(|a, b| a.resource.cmp(&b.resource));
    Ok(report)
}

fn skip_reason(tags: &HashMap<String, String>) -> Option<SkipReason> {
    let tag = |key: &str| tags.get(key).map(String::as_str);
    if tag(MANAGED_TAG) != Some("true") {
        Some(SkipReason::NotManaged)
    } else if tag(PROVISIONED_BY_TAG) == Some(TERRAFORM) {
        Some(SkipReason::ProvisionedByTerraform)
    } else {
        None
    }
}

fn entry(kind: ResourceKind, name: String, tags: &HashMap<String, String>) -> CleanupEntry {
    CleanupEntry {
        kind,
        name,
        run: tags.get(RUN_TAG).cloned(),
    }
}

/// A resource that vanished between listing and deleting is nobody's problem.
fn record_failure(
    report: &mut CleanupReport,
    kind: ResourceKind,
    name: String,
    run: Option<String>,
    error: BackendError,
) {
    if error.kind != BackendErrorKind::NotFound {
        report.failed.push(CleanupFailure {
            resource: CleanupEntry { kind, name, run },
            error,
        });
    }
}

async fn list_queue_urls(sqs: &aws_sdk_sqs::Client) -> Result<Vec<String>, BackendError> {
    let mut urls = Vec::new();
    let mut next_token = None;
    let list = Call::uncounted("ListQueues", RESOURCE_PREFIX);
    loop {
        let output = list
            .send(
                sqs.list_queues()
                    .queue_name_prefix(RESOURCE_PREFIX)
                    .max_results(i32::from(MAX_LIST_QUEUES_RESULTS))
                    .set_next_token(next_token)
                    .send(),
            )
            .await?;
        urls.extend(output.queue_urls().iter().cloned());
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => break,
        }
    }
    // ListQueues filters by prefix on the server; check again rather than trust every emulator.
    urls.retain(|url| queue_name_from_url(url).starts_with(RESOURCE_PREFIX));
    Ok(urls)
}

async fn list_table_names(
    dynamodb: &aws_sdk_dynamodb::Client,
) -> Result<Vec<String>, BackendError> {
    let mut names = Vec::new();
    let mut start = None;
    let list = Call::uncounted("ListTables", RESOURCE_PREFIX);
    loop {
        let output = list
            .send(
                dynamodb
                    .list_tables()
                    .set_exclusive_start_table_name(start)
                    .send(),
            )
            .await?;
        names.extend(
            output
                .table_names()
                .iter()
                .filter(|name| name.starts_with(RESOURCE_PREFIX))
                .cloned(),
        );
        match output.last_evaluated_table_name() {
            Some(last) => start = Some(last.to_owned()),
            None => break,
        }
    }
    Ok(names)
}

async fn table_tags(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<HashMap<String, String>, BackendError> {
    let describe = Call::uncounted("DescribeTable", name);
    let described = describe
        .send(dynamodb.describe_table().table_name(name).send())
        .await?;
    let arn = described
        .table()
        .and_then(|table| table.table_arn())
        .ok_or_else(|| describe.answer_lacks("TableArn"))?
        .to_owned();
    let mut tags = HashMap::new();
    let mut next_token = None;
    let list = Call::uncounted("ListTagsOfResource", name);
    loop {
        let output = list
            .send(
                dynamodb
                    .list_tags_of_resource()
                    .resource_arn(&arn)
                    .set_next_token(next_token)
                    .send(),
            )
            .await?;
        for tag in output.tags() {
            tags.insert(tag.key().to_owned(), tag.value().to_owned());
        }
        match output.next_token() {
            Some(token) => next_token = Some(token.to_owned()),
            None => break,
        }
    }
    Ok(tags)
}
