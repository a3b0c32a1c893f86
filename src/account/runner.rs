//! Runs the user's AWS CLI, bounded: one attempt per call (`AWS_MAX_ATTEMPTS=1`,
//! `AWS_RETRY_MODE=standard`), short connect and read timeouts, and an overall deadline
//! after which the process is killed. Its own credential chain, profile and region apply
//! (`AWS_PROFILE`, `AWS_REGION` as Claude Code's environment gives them). Failures become
//! an [`AwsError`] naming the cause a user can act on.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Output of one call beyond this is not a CloudWatch answer we asked for.
const MAX_OUTPUT: u64 = 16 << 20;
/// `--cli-connect-timeout`, seconds.
pub const CONNECT_TIMEOUT_SECS: u64 = 2;
/// `--cli-read-timeout`, seconds.
pub const READ_TIMEOUT_SECS: u64 = 5;
/// Whole call, however the CLI spends it (credential refresh included).
pub const OVERALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a call to AWS failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    #[error("the AWS CLI `{0}` was not found (install it, or set BEDROCK_HOOK_AWS_CLI)")]
    NoCli(String),
    #[error("no AWS credentials (configure a profile or run `aws sso login`)")]
    NoCredentials,
    #[error("the AWS credentials have expired ({0}): log in again (`aws sso login`)")]
    Expired(String),
    #[error("access denied: the credentials may not call {0}")]
    AccessDenied(String),
    #[error("endpoint unreachable: {0}")]
    Unreachable(String),
    #[error("the AWS CLI did not finish within {0}s")]
    Timeout(u64),
    #[error("{0}")]
    Other(String),
}

/// The AWS CLI as account mode calls it.
#[derive(Debug, Clone)]
pub struct AwsCli {
    pub program: String,
    pub timeout: Duration,
}

impl AwsCli {
    pub fn new(program: &str) -> AwsCli {
        AwsCli {
            program: program.to_string(),
            timeout: OVERALL_TIMEOUT,
        }
    }

    /// Run `aws <args> --output json` with the bounds above; stdout on success. `action`
    /// is the IAM action the call needs (named when access is denied).
    pub fn call(&self, args: &[&str], action: &str) -> Result<Vec<u8>, AwsError> {
        let connect = CONNECT_TIMEOUT_SECS.to_string();
        let read = READ_TIMEOUT_SECS.to_string();
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .args(["--output", "json", "--cli-connect-timeout", &connect])
            .args(["--cli-read-timeout", &read])
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_RETRY_MODE", "standard")
            .env("AWS_PAGER", "")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AwsError::NoCli(self.program.clone()));
            }
            Err(e) => return Err(AwsError::Other(format!("cannot run {}: {e}", self.program))),
        };
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let out = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut bytes);
            bytes
        });
        let err = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = (&mut stderr).take(64 << 10).read_to_end(&mut bytes);
            bytes
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(AwsError::Other(format!("waiting for the AWS CLI: {e}"))),
            }
        };
        let Some(status) = status else {
            return Err(AwsError::Timeout(self.timeout.as_secs()));
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
        if status.success() {
            Ok(stdout)
        } else {
            Err(classify(&stderr, action))
        }
    }
}

/// The cause an error message names, from the AWS CLI's stderr.
pub fn classify(stderr: &str, action: &str) -> AwsError {
    let has = |needle: &str| stderr.contains(needle);
    if has("Unable to locate credentials")
        || has("NoCredentialProviders")
        || has("Partial credentials found")
        || has("InvalidClientTokenId")
    {
        AwsError::NoCredentials
    } else if has("ExpiredToken") || has("RequestExpired") {
        AwsError::Expired("ExpiredToken".to_string())
    } else if has("Token has expired")
        || has("SSO session")
        || has("sso")
            && (has("expired") || has("Error loading SSO Token") || has("UnauthorizedException"))
    {
        AwsError::Expired("SSO session".to_string())
    } else if has("AccessDenied")
        || has("not authorized to perform")
        || has("UnauthorizedOperation")
    {
        AwsError::AccessDenied(action.to_string())
    } else if has("Could not connect to the endpoint URL")
        || has("Connect timeout on endpoint URL")
        || has("Read timeout on endpoint URL")
        || has("EndpointConnectionError")
        || has("Connection was closed")
    {
        AwsError::Unreachable(first_line(stderr))
    } else {
        let line = first_line(stderr);
        AwsError::Other(if line.is_empty() {
            "the AWS CLI failed without a message".to_string()
        } else {
            line
        })
    }
}

/// The first non-empty stderr line, cleaned of control characters and cut short.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    crate::terminal::fit(&crate::terminal::clean(line), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_from_real_cli_messages() {
        let action = "cloudwatch:GetMetricData";
        assert_eq!(
            classify(
                "\nUnable to locate credentials. You can configure credentials by running \"aws configure\".\n",
                action
            ),
            AwsError::NoCredentials
        );
        assert_eq!(
            classify(
                "\nAn error occurred (ExpiredToken) when calling the GetMetricData operation: The security token included in the request is expired\n",
                action
            ),
            AwsError::Expired("ExpiredToken".into())
        );
        assert_eq!(
            classify(
                "\nAn error occurred (AccessDenied) when calling the GetMetricData operation: User: arn:aws:iam::1:user/x is not authorized to perform: cloudwatch:GetMetricData\n",
                action
            ),
            AwsError::AccessDenied(action.into())
        );
        assert!(matches!(
            classify(
                "\nCould not connect to the endpoint URL: \"http://127.0.0.1:9/\"\n",
                action
            ),
            AwsError::Unreachable(_)
        ));
        assert_eq!(
            classify("boom\x1b[31m\n", action),
            AwsError::Other("boom[31m".into())
        );
    }

    #[test]
    fn a_missing_cli_is_named() {
        let cli = AwsCli::new("/nonexistent/aws-cli-for-test");
        assert_eq!(
            cli.call(&["sts", "get-caller-identity"], "sts:GetCallerIdentity"),
            Err(AwsError::NoCli("/nonexistent/aws-cli-for-test".into()))
        );
    }
}
