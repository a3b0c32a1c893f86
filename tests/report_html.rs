//! `bedrock-hook report --html` over the hand-made ledger in `tests/fixtures/ledgers/basic`:
//! the page references nothing outside itself and escapes what the ledger says, the
//! numbers its charts carry are those of `report --json`, and a real browser (headless
//! Chromium) renders it without a console message.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use support::Home;

/// A home over the fixture ledger, the clock pinned the morning after its last day.
fn fixture_ledger() -> Home {
    Home::with_ledger("basic").at("2026-11-13T08:00:00Z")
}

/// `report` with the quotas of the README's example.
fn report(env: &Home, args: &[&str]) -> Command {
    let mut cmd = env.command(&["report"]);
    cmd.args(args)
        .env("BEDROCK_HOOK_TPD", "2.4M")
        .env("BEDROCK_HOOK_TPM", "400k");
    cmd
}

fn html(env: &Home, args: &[&str]) -> String {
    let mut all = vec!["--html", "-"];
    all.extend_from_slice(args);
    support::stdout_of(&mut report(env, &all))
}

fn json(env: &Home, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    support::json_of(&mut report(env, &all))
}

/// The attributes of every element whose start tag begins with `open` (e.g.
/// `<g class="bucket"`), in document order.
fn elements(page: &str, open: &str) -> Vec<HashMap<String, String>> {
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find(open) {
        let tag = &rest[at..];
        let end = tag.find('>').expect("a closed start tag");
        found.push(attributes(&tag[..end]));
        rest = &tag[end..];
    }
    found
}

/// `name="value"` pairs of one start tag (values are not unescaped).
fn attributes(tag: &str) -> HashMap<String, String> {
    let mut attrs = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].rsplit(' ').next().unwrap().to_string();
        let value_start = eq + 2;
        let close = rest[value_start..].find('"').unwrap();
        attrs.insert(name, rest[value_start..value_start + close].to_string());
        rest = &rest[value_start + close + 1..];
    }
    attrs
}

fn number(attrs: &HashMap<String, String>, name: &str) -> u64 {
    attrs
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {attrs:?}"))
        .parse()
        .unwrap()
}

fn add_hostile_record(env: &Home) {
    let hostile = r#"{"v":1,"kind":"request","id":"evil","ts":"2026-11-12T10:00:00Z","end_ts":"2026-11-12T10:00:02Z","session":"s-evil\"><script>alert(2)</script>","model":"x\"><img src=http://evil.example/x.png>","model_norm":"<script>alert(1)</script>\u001b[31m","burndown":5.0,"burndown_assumed":true,"input":1,"cache_write":0,"cache_read":0,"output":1,"max_tokens":4096,"max_tokens_source":"api-request","reserved":20481,"settled":6,"outcome":"ok","project":"/home/dev/</td><style>@import url(http://evil.example/x.css)</style>"}"#;
    let day = env.data_dir().join("ledger/2026-11-12.jsonl");
    let mut text = std::fs::read_to_string(&day).unwrap();
    text.push_str(hostile);
    text.push('\n');
    std::fs::write(&day, text).unwrap();
}

#[test]
fn page_is_self_contained() {
    let env = fixture_ledger();
    let page = html(&env, &["--date", "2026-11-12"]);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.trim_end().ends_with("</html>"));
    let lower = page.to_lowercase();
    for banned in [
        "<script", "src=", "href=", "@import", "url(", "<link", "<img", "<iframe", "<object",
        "<embed", "<use", "\u{1b}",
    ] {
        assert!(!lower.contains(banned), "{banned:?} in the page");
    }
    // The only address in the page is the SVG namespace, which is a name, not a fetch.
    let addresses = lower.matches("://").count();
    let namespaces = lower
        .matches("xmlns=\"http://www.w3.org/2000/svg\"")
        .count();
    assert!(namespaces >= 4, "{namespaces} charts");
    assert_eq!(
        addresses, namespaces,
        "an address besides the SVG namespace"
    );
    assert!(
        page.contains("default-src 'none'"),
        "a CSP that blocks fetches"
    );
}

#[test]
fn hostile_names_are_escaped() {
    let env = fixture_ledger();
    add_hostile_record(&env);
    let page = html(&env, &["--date", "2026-11-12"]);
    let lower = page.to_lowercase();
    // What the ledger says is text: no element, attribute or style of its own.
    for (tag, times) in [
        ("<script", 0),
        ("<img", 0),
        ("<style", 1),
        ("</td><style", 0),
    ] {
        assert_eq!(lower.matches(tag).count(), times, "{tag}");
    }
    assert!(!page.contains('\u{1b}'));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;[31m"));
    assert!(page.contains("x&quot;&gt;&lt;img src=http://evil.example/x.png&gt;"));
    assert!(page.contains("/home/dev/&lt;/td&gt;&lt;style&gt;@import"));
    assert!(page.contains("data-model=\"&lt;script&gt;alert(1)&lt;/script&gt;[31m\""));
    assert!(page.contains("s-evil&quot;&gt;&lt;script&gt;alert(2)"));
}

/// The page's timeline groups, one per bucket of the JSON report's timeline with its start
/// and settled tokens: (the groups, the JSON's buckets).
fn drawn_buckets<'a>(page: &str, doc: &'a Value) -> (Vec<HashMap<String, String>>, &'a Vec<Value>) {
    let buckets = elements(page, "<g class=\"bucket\"");
    let json = doc["timeline"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), json.len());
    for (drawn, bucket) in buckets.iter().zip(json) {
        assert_eq!(drawn["data-start"], bucket["start"].as_str().unwrap());
        assert_eq!(number(drawn, "data-settled"), bucket["quota_tokens"]);
    }
    (buckets, json)
}

/// The settled tokens of the chart pieces whose `attribute` is `value`.
fn settled_of(pieces: &[HashMap<String, String>], attribute: &str, value: &str) -> u64 {
    pieces
        .iter()
        .filter(|p| p[attribute] == value)
        .map(|p| number(p, "data-settled"))
        .sum()
}

#[test]
fn the_charts_carry_the_numbers_of_the_json_report() {
    let env = fixture_ledger();
    let args = ["--date", "2026-11-12"];
    let page = html(&env, &args);
    let doc = json(&env, &args);

    // Per hour: one group per timeline bucket, with the JSON's figures.
    let (buckets, hours) = drawn_buckets(&page, &doc);
    for (drawn, hour) in buckets.iter().zip(hours) {
        assert_eq!(number(drawn, "data-reserved"), hour["reserved_tokens"]);
        assert_eq!(number(drawn, "data-requests"), hour["requests"]);
        assert_eq!(number(drawn, "data-throttles"), hour["throttles"]);
    }

    // By model: the stacked pieces of each hour add up to the hour, per model to the
    // model's total.
    let pieces = elements(&page, "<rect class=\"m");
    assert!(!pieces.is_empty());
    for hour in hours {
        let start = hour["start"].as_str().unwrap();
        let sum = settled_of(&pieces, "data-start", start);
        assert_eq!(sum, hour["quota_tokens"], "{start}");
    }
    for model in doc["models"].as_array().unwrap() {
        let name = model["model"].as_str().unwrap();
        let sum = settled_of(&pieces, "data-model", name);
        assert_eq!(sum, model["quota_tokens"], "{name}");
    }

    // Per minute: the busy minutes add up to their hours, and the busiest minute is the
    // JSON's peak (same minute: its requests settle within it).
    let minutes = elements(&page, "<g class=\"minute\"");
    assert!(minutes.len() >= 3, "{minutes:?}");
    for hour in hours {
        let start = hour["start"].as_str().unwrap();
        let in_hour = |m: &&HashMap<String, String>| m["data-minute"][..13] == start[..13];
        let settled: u64 = minutes
            .iter()
            .filter(in_hour)
            .map(|m| number(m, "data-settled"))
            .sum();
        let reserved: u64 = minutes
            .iter()
            .filter(in_hour)
            .map(|m| number(m, "data-reserved"))
            .sum();
        assert_eq!(settled, hour["quota_tokens"], "{start}");
        assert_eq!(reserved, hour["reserved_tokens"], "{start}");
    }
    let peak = &doc["peaks"]["tpm_minute"];
    let busiest = minutes
        .iter()
        .max_by_key(|m| number(m, "data-settled"))
        .unwrap();
    assert_eq!(busiest["data-minute"], peak["start"].as_str().unwrap());
    assert_eq!(number(busiest, "data-settled"), peak["quota_tokens"]);

    // Throttles: marked on every timeline, at the JSON's instants.
    let marks = elements(&page, "<path class=\"throttle\"");
    let throttles = doc["throttles"].as_array().unwrap();
    assert_eq!(
        marks.len(),
        4 * throttles.len(),
        "per hour x2, per minute, day"
    );
    for mark in &marks {
        assert!(
            throttles
                .iter()
                .any(|t| t["ts"] == mark["data-throttle"].as_str()
                    && t["limit"] == mark["data-limit"].as_str()),
            "{mark:?}"
        );
    }

    // Totals and the max_tokens advice with its counterfactual.
    let totals = &elements(&page, "<section class=\"cards\" id=\"totals\"")[0];
    assert_eq!(
        number(totals, "data-settled"),
        doc["totals"]["quota_tokens"]
    );
    assert_eq!(
        number(totals, "data-reserved"),
        doc["totals"]["reserved_tokens"]
    );
    assert_eq!(number(totals, "data-requests"), doc["totals"]["requests"]);
    assert_eq!(number(totals, "data-throttles"), doc["totals"]["throttles"]);
    let advice = &elements(&page, "<section id=\"advice\"")[0];
    let output = &doc["output"];
    assert_eq!(
        number(advice, "data-suggested"),
        output["suggested_max_tokens"]
    );
    assert_eq!(
        number(advice, "data-counterfactual"),
        output["counterfactual_reserved_tokens"]
    );
    assert_eq!(
        number(advice, "data-savings"),
        output["reserved_savings_tokens"]
    );
    let bars = elements(&page, "<rect class=\"settled\" x=\"190\"");
    assert_eq!(
        number(&bars[0], "data-counterfactual"),
        output["counterfactual_reserved_tokens"]
    );
    let per_model = elements(&page, "<g class=\"output\"");
    let advised = output["models"].as_array().unwrap();
    assert_eq!(per_model.len(), advised.len());
    for (drawn, model) in per_model.iter().zip(advised) {
        assert_eq!(drawn["data-model"], model["model"].as_str().unwrap());
        assert_eq!(
            number(drawn, "data-output-max"),
            model["output_tokens"]["max"]
        );
        assert_eq!(number(drawn, "data-asked-max"), model["max_tokens"]["max"]);
        assert_eq!(
            number(drawn, "data-suggested"),
            model["suggested_max_tokens"]
        );
    }
    assert!(page.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096"));
    assert!(page.contains("Output tokens vs max_tokens (3 answered requests)"));
}

#[test]
fn a_range_is_drawn_per_day() {
    let env = fixture_ledger();
    let args = ["--since", "2026-11-01", "--until", "2026-11-12"];
    let page = html(&env, &args);
    let doc = json(&env, &args);
    assert_eq!(doc["timeline"]["bucket_seconds"], 86_400);
    drawn_buckets(&page, &doc);
    assert!(page.contains("Settled per day, by model"));
    // No per-minute chart over twelve days, no TPD line for a range.
    assert!(!page.contains("<g class=\"minute\""));
    assert!(!page.contains("id=\"day\""));
}

#[test]
fn without_file_it_writes_a_dated_file_in_the_current_directory() {
    let env = fixture_ledger();
    report(&env, &["--html", "--date", "2026-11-12"])
        .assert()
        .success()
        .stdout("Wrote bedrock-hook-report-2026-11-12.html.\n");
    let written = env.project().join("bedrock-hook-report-2026-11-12.html");
    let page = std::fs::read_to_string(&written).unwrap();
    assert_eq!(page, html(&env, &["--date", "2026-11-12"]));
    let named = env.project().join("mine.html");
    report(
        &env,
        &["--date", "2026-11-12", "--html", named.to_str().unwrap()],
    )
    .assert()
    .success()
    .stdout(format!("Wrote {}.\n", named.display()));
    assert!(std::fs::read_to_string(&named).unwrap().contains("<svg"));
    // Today (pinned: 2026-11-13) by default, and nothing in it.
    report(&env, &["--html"])
        .assert()
        .success()
        .stdout("Wrote bedrock-hook-report-2026-11-13.html.\n");
    let today =
        std::fs::read_to_string(env.project().join("bedrock-hook-report-2026-11-13.html")).unwrap();
    assert!(today.contains("Nothing recorded in this range."));
    report(&env, &["--html", "--json"]).assert().failure();
    report(&env, &["--html", "/nonexistent-dir/x.html"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("/nonexistent-dir/x.html"));
}

/// Headless Chromium, or why not.
fn chromium() -> Result<PathBuf, String> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let candidates = std::env::var_os("BEDROCK_HOOK_TEST_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .chain(
            path_dirs
                .into_iter()
                .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name))),
        );
    for path in candidates {
        if path.is_file() {
            return Ok(path);
        }
    }
    Err("chromium not found (Debian package `chromium`; .ci/run installs it)".to_string())
}

struct Rendered {
    stdout: String,
    stderr: String,
}

/// Run headless Chromium over `page` with `mode` (`--screenshot=...` or `--dump-dom`),
/// in its own profile, with everything that could reach the network turned off.
fn run_chromium(browser: &Path, dir: &Path, page: &Path, mode: &str) -> Rendered {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let mut child = Process::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = read(Box::new(stdout));
    let err = read(Box::new(stderr));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Rendered {
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Lines where the page made the browser complain (script errors, blocked loads).
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn chromium_renders_the_page_without_console_messages() {
    let browser = match chromium() {
        Ok(path) => path,
        Err(why) => return support::skipped(&why),
    };
    let env = fixture_ledger();
    add_hostile_record(&env);
    let page_path = env.root().join("report.html");
    let page = html(&env, &["--date", "2026-11-12"]);
    std::fs::write(&page_path, &page).unwrap();

    let shot = env.root().join("report.png");
    let rendered = run_chromium(
        &browser,
        env.root(),
        &page_path,
        &format!("--screenshot={}", shot.display()),
    );
    assert_eq!(
        console_messages(&rendered.stderr),
        Vec::<&str>::new(),
        "{}",
        rendered.stderr
    );
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {}", rendered.stderr));
    assert_eq!(png_size(&png), (1200, 1600));
    assert!(png.len() > 20_000, "a blank page? {} bytes", png.len());

    // The DOM the browser built holds every chart group we wrote, and no element from
    // the hostile names.
    let dom = run_chromium(&browser, env.root(), &page_path, "--dump-dom");
    assert_eq!(console_messages(&dom.stderr), Vec::<&str>::new());
    for open in ["<g class=\"bucket\"", "<g class=\"minute\"", "<svg "] {
        assert_eq!(
            dom.stdout.matches(open).count(),
            page.matches(open).count(),
            "{open}"
        );
    }
    assert!(dom.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.stdout.contains("<script"));
    assert!(!dom.stdout.contains("<img"));

    // The check itself: a page that tries to load something is caught.
    let bad_path = env.root().join("bad.html");
    std::fs::write(
        &bad_path,
        page.replace("<main>", "<main><img src=\"http://127.0.0.1:9/x.png\">"),
    )
    .unwrap();
    let bad = run_chromium(&browser, env.root(), &bad_path, "--dump-dom");
    assert!(
        !console_messages(&bad.stderr).is_empty(),
        "a blocked load goes unnoticed: {}",
        bad.stderr
    );
}
