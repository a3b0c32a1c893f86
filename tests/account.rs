//! Account mode against a real local CloudWatch: moto's server on a free port per test,
//! the real AWS CLI v1 pointed at it, teammates' traffic seeded with `put-metric-data`
//! into `AWS/Bedrock`, this machine's own requests from the recorded sample transcript
//! (and seeded into CloudWatch too, as AWS would have them). Without the venv the tests
//! skip locally and fail in CI.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Home;
use support::client::skipped;

const OPUS: &str = "us.anthropic.claude-opus-5-5";
/// The sample session's requests all end at 01:39:2x; this machine settled 75,111 quota
/// tokens (73,481 input + 163 output x 10).
const OWN_MINUTE: &str = "2026-11-22T01:39:20Z";
const OWN_SETTLED: u64 = 75_111;
/// A teammate's morning: 2M input + 100k output x 10 = 3M quota tokens.
const TEAM_MINUTE: &str = "2026-11-22T00:30:00Z";
const TEAM_SETTLED: u64 = 3_000_000;

fn venv() -> PathBuf {
    match std::env::var_os("BEDROCK_HOOK_TEST_MOTO_VENV").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/bedrock-hook-ci/moto"),
    }
}

/// One moto server, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
    venv: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Option<Moto> {
        let venv = venv();
        if !venv.join("bin/moto_server").exists() || !venv.join("bin/aws").exists() {
            skipped(&format!(
                "no moto/AWS CLI venv at {} (.ci/run creates it; BEDROCK_HOOK_TEST_MOTO_VENV overrides)",
                venv.display()
            ));
            return None;
        }
        let port = free_port();
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto { child, port, venv };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn aws_bin(&self) -> PathBuf {
        self.venv.join("bin/aws")
    }

    /// What the AWS CLI needs to talk to this server, as Claude Code's environment would
    /// give it (plus the endpoint overrides).
    fn env(&self) -> Vec<(String, String)> {
        let url = self.url();
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            ),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", url.as_str()),
            ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([(
            "BEDROCK_HOOK_AWS_CLI".to_string(),
            self.aws_bin().display().to_string(),
        )])
        .collect()
    }

    /// Seed one model's minute: `(metric, value)` pairs at `at`.
    fn put(&self, model: &str, at: &str, values: &[(&str, f64)]) {
        let data: Vec<Value> = values
            .iter()
            .map(|(name, value)| {
                json!({"MetricName": name, "Dimensions": [{"Name": "ModelId", "Value": model}],
                       "Timestamp": at, "Value": value, "Unit": "Count"})
            })
            .collect();
        let out = Command::new(self.aws_bin())
            .envs(self.env())
            .args([
                "cloudwatch",
                "put-metric-data",
                "--namespace",
                "AWS/Bedrock",
            ])
            .arg("--metric-data")
            .arg(Value::Array(data).to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A teammate's morning and this machine's own requests, as CloudWatch has them.
    fn seed_team_and_own(&self) {
        self.put(
            OPUS,
            TEAM_MINUTE,
            &[
                ("InputTokenCount", 2_000_000.0),
                ("OutputTokenCount", 100_000.0),
                ("Invocations", 40.0),
                ("EstimatedTPMQuotaUsage", 3_000_000.0),
            ],
        );
        self.put_own();
    }

    /// This machine's own requests (the sample session's), as CloudWatch has them.
    fn put_own(&self) {
        self.put(
            OPUS,
            OWN_MINUTE,
            &[
                ("InputTokenCount", 73_481.0),
                ("OutputTokenCount", 163.0),
                ("Invocations", 5.0),
                ("EstimatedTPMQuotaUsage", 75_111.0),
            ],
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Account mode on with a 4M TPD, warning.
const ACCOUNT_CONFIG: &str = "team = \"cloudwatch\"\ntpd = 4_000_000\nmode = \"warn\"\n";

/// The sample session in the ledger, account mode on with a 4M TPD.
fn fixture() -> Home {
    let f = Home::with_samples();
    f.write_config(ACCOUNT_CONFIG);
    let projects = f.projects();
    let out = f
        .command(&["import", "-q", projects.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    f
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn run(f: &Home, env: &[(String, String)], now: &str, args: &[&str], stdin: &str) -> Run {
    let mut command = f.command(args);
    command
        .env("BEDROCK_HOOK_NOW", now)
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .write_stdin(stdin.to_string());
    let started = Instant::now();
    let out = command.output().unwrap();
    let dir = f.root().display().to_string();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).replace(&dir, "<tmp>"),
        stderr: String::from_utf8_lossy(&out.stderr).replace(&dir, "<tmp>"),
        took: started.elapsed(),
    }
}

/// A moto server seeded with a teammate's morning and this machine's requests, and the
/// [`fixture`]; `None` (skipped) without moto.
fn seeded() -> Option<(Moto, Home)> {
    let moto = Moto::start()?;
    moto.seed_team_and_own();
    Some((moto, fixture()))
}

/// The command's stdout begins with `prefix` (the failure shows it all).
fn assert_stdout_starts(r: &Run, prefix: &str) {
    assert!(r.stdout.starts_with(prefix), "{}", r.stdout);
}

/// `team sync` at `now`.
fn sync(f: &Home, env: &[(String, String)], now: &str) -> Run {
    run(f, env, now, &["team", "sync"], "")
}

/// [`sync`], which must succeed (the failure shows its stderr).
fn synced(f: &Home, env: &[(String, String)], now: &str) -> Run {
    let r = sync(f, env, now);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

/// The status line at `now` for the sample session on Opus 5.5.
fn statusline(f: &Home, env: &[(String, String)], now: &str) -> Run {
    run(f, env, now, &["statusline"], &status_input())
}

/// The environment that names `aws` as the AWS CLI.
fn aws_cli(aws: &Path) -> Vec<(String, String)> {
    vec![(
        "BEDROCK_HOOK_AWS_CLI".to_string(),
        aws.display().to_string(),
    )]
}

/// `path` made executable (a stand-in `aws`).
fn executable(path: PathBuf) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn status_input() -> String {
    json!({"session_id": support::SESSION, "model": {"id": OPUS, "display_name": "Opus 5.5"}})
        .to_string()
}

fn account_file(data_dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(data_dir.join("account.json")).unwrap()).unwrap()
}

#[test]
fn team_sync_prints_what_it_fetched_and_writes_a_private_file() {
    let Some((moto, f)) = seeded() else { return };
    let r = sync(&f, &moto.env(), "2026-11-22T01:41:30Z");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout,
        "CloudWatch us-east-1: 1 model, 2026-11-22 00:00 to 01:40 UTC\n  \
         us.anthropic.claude-opus-5-5 (geo): account 3.08M settled, this machine 75.1k, \
         others 3M · 45 requests, 0 throttled\n    \
         input 2.07M, cache write 0, cache read 0, output 100k (x10)\n\
         written to account.json\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(f.data_dir().join("account.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let file = account_file(&f.data_dir());
    assert_eq!(file["watermark"], "2026-11-22T01:40:00Z");
    assert_eq!(file["region"], "us-east-1");
    let bucket = &file["buckets"][0];
    assert_eq!(bucket["endpoint"], "geo");
    assert_eq!(bucket["settled"], TEAM_SETTLED + OWN_SETTLED);
    assert_eq!(bucket["own_settled"], OWN_SETTLED);
    assert_eq!(bucket["account"]["estimated"], 3_075_111);
    assert_eq!(bucket["hourly"], json!([3_000_000, 75_111]));
    assert!(file["last_error"].is_null());

    let r = run(
        &f,
        &moto.env(),
        "2026-11-22T01:41:30Z",
        &["report", "--date", "2026-11-22", "--color", "never"],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.ends_with(
            "\nAccount vs this machine (CloudWatch, us-east-1 up to 01:40 UTC), settled quota tokens per hour:\n  \
             UTC      account  this machine    others\n  \
             00:00         3M             0        3M\n  \
             01:00      75.1k         75.1k         0\n"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn status_line_counts_own_requests_once_before_and_after_the_watermark() {
    let Some((moto, f)) = seeded() else { return };
    // Watermark 01:40: this machine's requests (01:39) are inside CloudWatch's numbers.
    // Watermark 01:38: they are not yet, and come from the local ledger instead.
    for now in ["2026-11-22T01:41:30Z", "2026-11-22T01:39:40Z"] {
        synced(&f, &moto.env(), now);
        let r = statusline(&f, &moto.env(), now);
        // (3M + 75,111) / 4M = 76.9%; counting own twice would say 79%. Own: 1.9%.
        assert!(
            r.stdout.starts_with("quota 77% reserved (you 2%) · "),
            "{now}: {}",
            r.stdout
        );
    }
}

#[test]
fn stale_account_data_says_so_and_falls_back_to_the_local_estimate() {
    let Some((moto, f)) = seeded() else { return };
    synced(&f, &moto.env(), "2026-11-22T01:41:30Z");
    let r = statusline(&f, &moto.env(), "2026-11-22T01:53:40Z");
    assert_stdout_starts(&r, "quota 2% reserved (account data 12m old) · ");
}

#[test]
fn unreachable_endpoint_fails_fast_and_the_hook_does_not_wait() {
    let Some(moto) = Moto::start() else { return };
    let f = fixture();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let mut env = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL_CLOUDWATCH");
    env.push(("AWS_ENDPOINT_URL_CLOUDWATCH".into(), closed.clone()));
    let now = "2026-11-22T01:41:30Z";
    let r = sync(&f, &env, now);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!(
            "bedrock-hook: CloudWatch: endpoint unreachable: Could not connect to the endpoint URL: \"{closed}/\"\n"
        )
    );
    assert!(r.took < Duration::from_secs(5), "sync took {:?}", r.took);
    std::fs::remove_file(f.data_dir().join("account.started")).unwrap();

    // The hook starts the sync in the background and returns at its usual speed.
    let payload = f.payload("UserPromptSubmit");
    let hook = run(&f, &env, now, &["hook"], &payload);
    assert_eq!(hook.code, 0);
    assert_eq!(hook.stderr, "");
    assert!(
        hook.took < Duration::from_secs(1),
        "hook took {:?}",
        hook.took
    );
    let file = f.data_dir().join("account.json");
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&file).unwrap().modified().unwrap() == before {
        assert!(Instant::now() < deadline, "the background sync never wrote");
        std::thread::sleep(Duration::from_millis(100));
    }
    let written = account_file(&f.data_dir());
    assert!(
        written["last_error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("CloudWatch: endpoint unreachable"),
        "{written}"
    );
    // At most one sync per team_interval_secs: the next event starts none.
    let started = std::fs::read_to_string(f.data_dir().join("account.started")).unwrap();
    let hook = run(&f, &env, "2026-11-22T01:42:00Z", &["hook"], &payload);
    assert_eq!(hook.code, 0);
    assert_eq!(
        std::fs::read_to_string(f.data_dir().join("account.started")).unwrap(),
        started
    );
    // And the status line says the data is missing and why (the prompt's first request
    // is in flight: 75,111 settled + 1.29M reserved of 4M).
    let r = statusline(&f, &env, "2026-11-22T01:42:00Z");
    assert_stdout_starts(
        &r,
        "quota 34% reserved (no account data yet, sync failing) · ",
    );
}

/// A stand-in `aws` that fails the way the real one does with expired credentials.
fn expired_aws(dir: &Path) -> PathBuf {
    let path = dir.join("aws-expired");
    std::fs::write(
        &path,
        "#!/bin/sh\necho >&2\necho 'An error occurred (ExpiredToken) when calling the GetMetricData \
         operation: The security token included in the request is expired' >&2\nexit 255\n",
    )
    .unwrap();
    executable(path)
}

#[test]
fn expired_credentials_are_named() {
    let f = fixture();
    let aws = expired_aws(f.root());
    let env = aws_cli(&aws);
    let r = sync(&f, &env, "2026-11-22T01:41:30Z");
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "bedrock-hook: CloudWatch: the AWS credentials have expired (ExpiredToken): \
         log in again (`aws sso login`)\n"
    );
    let missing = aws_cli(Path::new("/nonexistent/aws"));
    let r = sync(&f, &missing, "2026-11-22T01:41:30Z");
    assert_eq!(
        r.stderr,
        "bedrock-hook: CloudWatch: the AWS CLI `/nonexistent/aws` was not found \
         (install it, or set BEDROCK_HOOK_AWS_CLI)\n"
    );
}

fn stop_failure(f: &Home, prompt: &str, request_id: Option<&str>) -> String {
    let mut message =
        "API Error: Request rejected (429) · Too many tokens per day, please wait before trying again."
            .to_string();
    if let Some(id) = request_id {
        message.push_str(&format!(" x-amzn-requestid: {id}"));
    }
    json!({
        "session_id": support::SESSION,
        "transcript_path": f.main_transcript(),
        "cwd": "/home/dev/proj",
        "prompt_id": prompt,
        "hook_event_name": "StopFailure",
        "error": "rate_limit",
        "last_assistant_message": message,
    })
    .to_string()
}

#[test]
fn calibrate_tells_apart_account_use_a_low_quota_and_own_reservations() {
    let Some(moto) = Moto::start() else { return };
    let f = fixture();
    f.write_config("team = \"cloudwatch\"\ntpd = 10_000_000\nmode = \"warn\"\n");
    moto.put_own();
    let env = moto.env();
    let id = "3f1c9a2e-8b7d-4c1e-9f0a-123456789abc";
    // (b) nobody else used anything: the account's whole use was far below 10M.
    // (c) a teammate settled 8M: this machine's reservation made up the rest.
    // (a) the teammate settled 9M: the account used the quota.
    let teammate = [
        ("2026-11-22T00:00:00Z", 0.0, 0.0),
        // 3M input + 500k output x 10 = 8M; CloudWatch's estimate says x5 (5.5M).
        ("2026-11-22T00:30:00Z", 3_000_000.0, 500_000.0),
        ("2026-11-22T00:31:00Z", 1_000_000.0, 0.0),
    ];
    let mut messages = Vec::new();
    for (i, (minute, input, output)) in teammate.iter().enumerate() {
        if *input > 0.0 {
            moto.put(
                OPUS,
                minute,
                &[
                    ("InputTokenCount", *input),
                    ("OutputTokenCount", *output),
                    ("EstimatedTPMQuotaUsage", input + output * 5.0),
                ],
            );
        }
        let now = format!("2026-11-22T01:{}:30Z", 45 + i * 5);
        synced(&f, &env, &now);
        let r = run(
            &f,
            &env,
            &now,
            &["hook"],
            &stop_failure(&f, &format!("prompt-{i}"), (i == 0).then_some(id)),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        messages.push(r.stdout);
    }
    let throttles: Vec<Value> = f
        .ledger()
        .into_iter()
        .filter(|r| r["kind"] == "throttle")
        .collect();
    assert_eq!(throttles.len(), 3);
    let reserved = throttles[0]["reserved"].as_u64().unwrap();
    let info = &throttles[0]["throttle"];
    assert_eq!(info["account_day_used"], OWN_SETTLED + reserved);
    assert_eq!(info["others_day_used"], 0);
    assert_eq!(info["request_id"], id);
    assert_eq!(throttles[2]["throttle"]["others_day_used"], 9_000_000);
    assert!(
        messages[0].contains("Open an AWS Support case"),
        "{}",
        messages[0]
    );
    assert!(
        messages[2].contains("The account used the quota"),
        "{}",
        messages[2]
    );

    let r = run(
        &f,
        &env,
        "2026-11-22T01:56:00Z",
        &["quota", "calibrate", "--dry-run"],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("2026-11-22 01:") && l.contains(") "))
        .collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(
        lines[0].contains("(b) The real quota is lower than the configured 10M")
            && lines[0].contains(&format!("x-amzn-requestid {id}")),
        "{}",
        r.stdout
    );
    assert!(
        lines[1].contains(
            "(c) This machine's reservations took the rest: the account had settled 8.08M"
        ),
        "{}",
        r.stdout
    );
    assert!(
        lines[2].contains("(a) The account used the quota: CloudWatch shows 9.08M of the 10M TPD settled (91%), 9M of it by other machines"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "claude-opus-5-5: 5.0 from 500k output tokens, but bedrock-hook uses 10: set [burndown] \"claude-opus-5-5\" = 5.0 in the config"
        ),
        "{}",
        r.stdout
    );
}

/// A stand-in `aws` for Service Quotas (moto does not implement it): prints the recorded
/// listings and logs how it was called.
fn quotas_aws(dir: &Path, deny: bool) -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
    let path = dir.join("aws-quotas");
    let log = dir.join("aws-calls.log");
    let deny = if deny {
        "echo >&2; echo 'An error occurred (AccessDeniedException) when calling the ListServiceQuotas operation: User: arn:aws:iam::123456789012:user/dev is not authorized to perform: servicequotas:ListServiceQuotas' >&2; exit 255"
    } else {
        ""
    };
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"$* | $AWS_MAX_ATTEMPTS $AWS_RETRY_MODE\" >> '{log}'\n\
             case \"$2\" in\n\
             list-aws-default-service-quotas) cat '{defaults}' ;;\n\
             list-service-quotas) {deny}\n cat '{applied}' ;;\n\
             *) exit 2 ;;\nesac\n",
            log = log.display(),
            defaults = fixtures
                .join("list-aws-default-service-quotas.json")
                .display(),
            applied = fixtures.join("list-service-quotas.json").display(),
        ),
    )
    .unwrap();
    executable(path)
}

#[test]
fn bare_quota_import_reads_the_quotas_through_the_aws_cli() {
    let f = fixture();
    let aws = quotas_aws(f.root(), false);
    let mut env = aws_cli(&aws);
    env.push(("AWS_REGION".to_string(), "us-east-1".to_string()));
    let r = run(&f, &env, "2026-11-22T01:41:30Z", &["quota", "import"], "");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_stdout_starts(
        &r,
        "Read 2 Service Quotas listings in us-east-1 (AWS CLI): ",
    );
    let config = std::fs::read_to_string(f.config_file()).unwrap();
    assert!(config.contains("[models."), "{config}");
    assert!(config.starts_with("team = \"cloudwatch\""), "{config}");
    // The account-wide cap across all models is written as the top-level key.
    assert!(
        r.stdout.contains(
            "All models together: 500000000 tokens per day (Cross-Model Max Tokens Per Day, \
             `tpd_all_models`)."
        ),
        "{}",
        r.stdout
    );
    assert!(
        config.contains("\ntpd_all_models = 500000000\n"),
        "{config}"
    );
    let calls = std::fs::read_to_string(f.root().join("aws-calls.log")).unwrap();
    assert_eq!(
        calls,
        "service-quotas list-aws-default-service-quotas --service-code bedrock --output json \
         --cli-connect-timeout 2 --cli-read-timeout 5 | 1 standard\n\
         service-quotas list-service-quotas --service-code bedrock --output json \
         --cli-connect-timeout 2 --cli-read-timeout 5 | 1 standard\n"
    );

    // The same listings as files give the same config.
    let from_cli = config;
    f.write_config(ACCOUNT_CONFIG);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws");
    let defaults = fixtures.join("list-aws-default-service-quotas.json");
    let applied = fixtures.join("list-service-quotas.json");
    let r = run(
        &f,
        &[],
        "2026-11-22T01:41:30Z",
        &[
            "quota",
            "import",
            defaults.to_str().unwrap(),
            applied.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(f.config_file()).unwrap(), from_cli);

    let denied = quotas_aws(f.root(), true);
    let env = aws_cli(&denied);
    let r = run(&f, &env, "2026-11-22T01:41:30Z", &["quota", "import"], "");
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "bedrock-hook: Service Quotas (list-service-quotas): access denied: the credentials \
         may not call servicequotas:ListServiceQuotas\n"
    );
}

#[test]
fn doctor_checks_account_mode_end_to_end() {
    let Some((moto, f)) = seeded() else { return };
    let mut env = moto.env();
    let now = "2026-11-22T01:41:30Z";
    assert_eq!(sync(&f, &env, now).code, 0);
    let r = run(&f, &env, now, &["doctor"], "");
    let account: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains(" account "))
        .collect();
    assert_eq!(account.len(), 4, "{}", r.stdout);
    assert!(
        account[0].starts_with("ok    account      AWS CLI `"),
        "{}",
        r.stdout
    );
    assert!(
        account[0]
            .ends_with("signs in as arn:aws:sts::123456789012:user/moto (account 123456789012)")
    );
    assert_eq!(
        account[1],
        "ok    account      CloudWatch lists Bedrock token metrics for 1 model ids"
    );
    assert_eq!(
        account[2],
        "ok    account      account data 0s old (CloudWatch up to 01:40 UTC)"
    );
    assert_eq!(
        account[3],
        "ok    account      burndown: claude-opus-5-5: 10.0 from 100k output tokens, the table's 10 agrees"
    );

    // Expired credentials: an error with the fix, and nothing further is tried.
    let aws = expired_aws(f.root());
    env.extend(aws_cli(&aws));
    let r = run(&f, &env, now, &["doctor"], "");
    assert_ne!(r.code, 0);
    assert!(
        r.stdout.contains(
            "error account      the AWS CLI cannot sign in: the AWS credentials have expired \
             (ExpiredToken): log in again (`aws sso login`)"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn real_client_session_with_teammates_in_cloudwatch() {
    let Some(client) = support::client::client_bin() else {
        return;
    };
    let Some(moto) = Moto::start() else { return };
    // A teammate's 3M at the start of today's (UTC) TPD day; a sync needs the day to be
    // more than the watermark lag old.
    // The client and its hooks keep the real clock (see `Home::client_side`).
    let now = support::client::real_now();
    let day_start = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    if now - day_start < chrono::Duration::minutes(3) {
        std::thread::sleep(Duration::from_secs(180));
    }
    let day_start = support::client::real_now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let team_minute = day_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    moto.put(
        OPUS,
        &team_minute,
        &[
            ("InputTokenCount", 2_000_000.0),
            ("OutputTokenCount", 100_000.0),
        ],
    );
    let sandbox = support::client::Sandbox::new();
    std::fs::write(
        sandbox.config_file(),
        "team = \"cloudwatch\"\ntpd = 3_500_000\n",
    )
    .unwrap();
    sandbox.install_hooks();
    let endpoint = support::endpoint::Endpoint::start_default();
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let output = sandbox.run_client(&client, &endpoint, "Say hello", &env);
    assert!(output.status.success(), "{output:?}");
    let expected = support::client::expected_from(&endpoint).len();
    let requests = sandbox.wait_for_requests(expected);
    assert_eq!(requests.len(), expected);

    // The hook started a sync in the background, with the client's environment.
    let file = sandbox.data_dir().join("account.json");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "no background sync wrote the account file"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let background = account_file(&sandbox.data_dir());
    assert!(background["last_error"].is_null(), "{background}");
    let opus = background["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["model"] == OPUS)
        .unwrap_or_else(|| panic!("{background}"));
    assert_eq!(opus["settled"], TEAM_SETTLED);

    // The status line: the teammate's 3M plus this session's, which CloudWatch does not
    // have yet (this minute is past the watermark) and the ledger does.
    let own: u64 = sandbox
        .ledger()
        .iter()
        .filter(|r| r["kind"] != "throttle")
        .map(|r| r["settled"].as_u64().unwrap())
        .sum();
    assert!(own > 0);
    let out = sandbox.client_statusline(&status_input(), moto.env());
    let line = String::from_utf8(out.stdout).unwrap();
    let percent = |n: u64| (n as f64 * 100.0 / 3_500_000.0).round() as u64;
    assert!(
        line.starts_with(&format!(
            "quota {}% reserved (you {}%) · ",
            percent(TEAM_SETTLED + own),
            percent(own)
        )),
        "own {own}: {line}"
    );
}

#[test]
fn a_teammates_model_this_machine_never_used_is_fetched_too() {
    let Some(moto) = Moto::start() else { return };
    let haiku = "global.anthropic.claude-haiku-4-5-20251001-v1:0";
    moto.put(
        haiku,
        TEAM_MINUTE,
        &[("InputTokenCount", 500_000.0), ("Invocations", 9.0)],
    );
    // Not a Claude model: not asked for.
    moto.put(
        "amazon.titan-embed-text-v2:0",
        TEAM_MINUTE,
        &[("InputTokenCount", 1.0)],
    );
    let f = fixture();
    let r = synced(&f, &moto.env(), "2026-11-22T01:41:30Z");
    assert_stdout_starts(&r, "CloudWatch us-east-1: 2 models, ");
    assert!(
        r.stdout.contains(
            "  global.anthropic.claude-haiku-4-5-20251001-v1:0 (global): account 500k settled, \
             this machine 0, others 500k · 9 requests, 0 throttled\n"
        ),
        "{}",
        r.stdout
    );
    let file = account_file(&f.data_dir());
    assert_eq!(file["discovered"], json!([haiku]));
    // Another endpoint type's quota: not in the Opus (geo) figure.
    let r = statusline(&f, &moto.env(), "2026-11-22T01:41:30Z");
    assert_stdout_starts(&r, "quota 2% reserved (you 2%) · ");
}

#[test]
fn the_prompt_guard_checks_what_the_whole_account_has_left() {
    let Some((moto, f)) = seeded() else { return };
    let payload = f.payload("UserPromptSubmit");
    let now = "2026-11-22T01:41:30Z";
    // This machine alone: 75k of 4M used, the next 1.29M fits: nothing to say.
    f.write_config("tpd = 4_000_000\nmode = \"warn\"\n");
    let r = run(&f, &moto.env(), now, &["hook"], &payload);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
    // The account: a teammate's 3M more, and 1.29M does not fit what is left.
    f.write_config(ACCOUNT_CONFIG);
    assert_eq!(sync(&f, &moto.env(), now).code, 0);
    let r = run(&f, &moto.env(), now, &["hook"], &payload);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let said: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}", r = r.stdout));
    let text = said["systemMessage"].as_str().unwrap();
    assert!(text.contains("will not fit the TPD"), "{text}");
    assert!(
        text.ends_with("(Account mode: the numbers are the whole account's, from CloudWatch.)"),
        "{text}"
    );
}
