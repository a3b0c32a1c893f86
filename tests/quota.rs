//! `bedrock-hook quota import / show / calibrate` on real files: AWS Service Quotas
//! listings in `fixtures/aws`, a config file with the user's own comments, and throttles
//! recorded by the hook from the real StopFailure payload.

mod support;

use support::Home;

const NOW: &str = "2026-11-22T01:39:30Z";

/// A home with `config` as the config file, the clock at [`NOW`].
fn with_config(config: &str) -> Home {
    Home::with_config(config).at(NOW)
}

fn aws(name: &str) -> String {
    support::fixtures()
        .join("aws")
        .join(name)
        .display()
        .to_string()
}

const USER_CONFIG: &str = "# team account, us-east-1\nmode = \"warn\"\ntpd = 10_000_000 # all models\n\n[burndown]\n\"claude-opus-5\" = 10\n";

#[test]
fn import_writes_claude_quotas_and_keeps_the_rest_of_the_file() {
    let dir = with_config(USER_CONFIG);
    let defaults = aws("list-aws-default-service-quotas.json");
    let applied = aws("list-service-quotas.json");
    let (code, stdout, stderr) = dir.run(&["quota", "import", &defaults, &applied]);
    assert_eq!(stderr, "");
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "Read 2 files: 25 quotas, 3 of them not about Claude rates (skipped).
Importing cross-region quotas (also found: --endpoint global, --endpoint on-demand).

model                             TPD          TPM      RPM
claude-3-5-sonnet                   -       800000        -
claude-haiku-4-5                    -      4000000        -
claude-opus-4-1             288000000       200000       50
claude-opus-5-5              50000000      2000000      100
claude-sonnet-4             288000000       200000      200

All models together: 500000000 tokens per day (Cross-Model Max Tokens Per Day, `tpd_all_models`).

Quotas of 0, not written (the account cannot use these until AWS raises them):
  Model invocation max tokens per day for Anthropic Claude Haiku 4.5 (L-1D3E59A4)

Not recognised, not written:
  Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 V1 1M Context Length (L-4A7B1E3C): `Anthropic Claude Sonnet 4 V1 1M Context Length` is a long-context variant: bedrock-hook counts it under the base model
  Model invocation max tokens per day for Anthropic Claude Instant (L-8E2F1B7D): model `Anthropic Claude Instant` not recognised
  Bedrock Mantle input tokens per minute for Anthropic Claude Opus 5.5 (L-0E5C9A21): a bedrock-mantle endpoint quota (separate input/output tokens, no burndown): not modelled

Note: claude-3-5-sonnet tpm: \"Cross-region model inference tokens per minute for Anthropic Claude 3.5 Sonnet V2\" and \"Cross-region model inference tokens per minute for Anthropic Claude 3.5 Sonnet\" share one bucket; kept V2's 800000

Changes to <tmp>/config.toml:
  [models.claude-3-5-sonnet] tpm: (unset) -> 800000
  [models.claude-haiku-4-5] tpm: (unset) -> 4000000
  [models.claude-opus-4-1] tpd: (unset) -> 288000000
  [models.claude-opus-4-1] tpm: (unset) -> 200000
  [models.claude-opus-4-1] rpm: (unset) -> 50
  [models.claude-opus-5-5] tpd: (unset) -> 50000000
  [models.claude-opus-5-5] tpm: (unset) -> 2000000
  [models.claude-opus-5-5] rpm: (unset) -> 100
  [models.claude-sonnet-4] tpd: (unset) -> 288000000
  [models.claude-sonnet-4] tpm: (unset) -> 200000
  [models.claude-sonnet-4] rpm: (unset) -> 200
  tpd_all_models: (unset) -> 500000000
Wrote <tmp>/config.toml.
"
    );
    // The cross-model cap is a top-level key, after the user's own.
    let top = USER_CONFIG.replace(
        "# all models\n",
        "# all models\ntpd_all_models = 500000000\n",
    );
    assert_eq!(
        dir.config(),
        format!(
            "{top}
[models.claude-3-5-sonnet]
tpm = 800000

[models.claude-haiku-4-5]
tpm = 4000000

[models.claude-opus-4-1]
tpd = 288000000
tpm = 200000
rpm = 50

[models.claude-opus-5-5]
tpd = 50000000
tpm = 2000000
rpm = 100

[models.claude-sonnet-4]
tpd = 288000000
tpm = 200000
rpm = 200
"
        )
    );
    // Importing again changes nothing.
    let (code, stdout, _) = dir.run(&["quota", "import", &defaults, &applied]);
    assert_eq!(code, 0);
    assert!(
        stdout.ends_with("<tmp>/config.toml already says so: nothing to change.\n"),
        "{stdout}"
    );

    let (code, stdout, _) = dir.run(&["quota", "show"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "config: <tmp>/config.toml   mode: warn
bucket                       TPD       TPM     RPM  used today             set by
(all other models)           10M         -       -  0 (0% of TPD)          file, default
claude-3-5-sonnet           10M*      800k       -  0 (0% of TPD)          file
claude-haiku-4-5            10M*        4M       -  0 (0% of TPD)          file
claude-opus-4-1             288M      200k      50  0 (0% of TPD)          file
claude-opus-5-5              50M        2M     100  0 (0% of TPD)          file
claude-sonnet-4             288M      200k     200  0 (0% of TPD)          file
(all models together)       500M         -       -  0 (0% of TPD)          file
* not set for the model: the default bucket's value applies
"
    );
}

#[test]
fn import_other_endpoint_and_dry_run() {
    let dir = with_config(USER_CONFIG);
    let applied = aws("list-service-quotas.json");
    let (code, stdout, _) = dir.run(&[
        "quota",
        "import",
        "--endpoint",
        "global",
        "--dry-run",
        &applied,
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(
            "Importing global quotas (also found: --endpoint cross-region, --endpoint on-demand).\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Changes to <tmp>/config.toml:
  [models.claude-opus-5-5] tpd: (unset) -> 50000000
  [models.claude-opus-5-5] tpm: (unset) -> 4000000
  [models.claude-sonnet-4] tpd: (unset) -> 288000000
  tpd_all_models: (unset) -> 500000000
Dry run: nothing written.
"
        ),
        "{stdout}"
    );
    assert_eq!(dir.config(), USER_CONFIG);
}

#[test]
fn import_refuses_what_is_not_a_listing() {
    let dir = with_config(USER_CONFIG);
    let bogus = dir.path("bogus.json");
    std::fs::write(&bogus, "[\"not\", \"quotas\"]").unwrap();
    let (code, _, stderr) = dir.run(&["quota", "import", bogus.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("bedrock-hook: <tmp>/bogus.json is not the JSON of `aws service-quotas"),
        "{stderr}"
    );
    assert_eq!(dir.config(), USER_CONFIG);
    // A config file that is not TOML is not overwritten.
    let broken = with_config("tpd = [\n");
    let (code, _, stderr) = broken.run(&["quota", "import", &aws("list-service-quotas.json")]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not valid TOML"), "{stderr}");
    assert_eq!(broken.config(), "tpd = [\n");
}

/// Record a real throttle: the sample session's prompt, then the sample StopFailure.
fn throttle(dir: &Home) {
    support::lay_out_samples(&dir.claude_dir());
    for event in ["UserPromptSubmit", "StopFailure"] {
        let out = dir.hook(&dir.payload(event));
        assert!(out.status.success(), "{out:?}");
    }
}

#[test]
fn calibrate_adopts_what_the_throttle_says() {
    let dir = with_config(USER_CONFIG);
    let (code, stdout, _) = dir.run(&["quota", "calibrate"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "No throttles recorded in the last 7 days: nothing to calibrate.\n"
    );

    throttle(&dir);
    let (code, stdout, _) = dir.run(&["quota", "calibrate", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(dir.config(), USER_CONFIG);
    // 75,111 settled + 1,293,068 in flight + the refused 1,293,068 = 2,661,247.
    let evidence = "Throttles in the last 7 days:
  2026-11-22 01:39:30  claude-opus-5-5      tokens-per-day       estimate 2.66M of 10M (27%)

What they say:
  all models: throttled once on tokens per day (TPD) at an estimated 2.66M used, 27% of the \
configured 10M: the effective TPD is nearer 2.66M, or something else on the same account and \
region (a teammate, another machine, CI) used about 7.34M today.

Changes to <tmp>/config.toml:
  tpd: 10000000 -> 2661000
";
    assert_eq!(stdout, format!("{evidence}Dry run: nothing written.\n"));

    let (code, stdout, _) = dir.run(&["quota", "calibrate"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, format!("{evidence}Wrote <tmp>/config.toml.\n"));
    assert_eq!(
        dir.config(),
        USER_CONFIG.replace(
            "tpd = 10_000_000 # all models",
            "tpd = 2661000 # all models"
        )
    );

    let (_, stdout, _) = dir.run(&["quota", "calibrate"]);
    assert!(
        stdout.ends_with(
            "at an estimated 2.66M, at or over the configured 2.66M: the configured TPD agrees \
             with Bedrock.\n\nThe configured quotas already agree: nothing to change.\n"
        ),
        "{stdout}"
    );
}
