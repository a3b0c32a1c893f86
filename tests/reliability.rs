//! Reliability of the built binary under concurrency, crashes and hostile files: the
//! ledger holds exactly one record per request whatever happens around it, and the hot
//! paths fail open (exit 0, one stderr line) in bounded time and memory.
//!
//! Sizes: `BEDROCK_HOOK_STRESS_PROCS` x `BEDROCK_HOOK_STRESS_EVENTS` hook processes in the
//! concurrency test (default 16 x 100; `64` x `500` is the full size, see BENCHMARKS.md).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::lines::{Request, append_lines, hook_input, open_append, statusline_input};
use support::{BIN, Home, assert_quiet_success, day_files, files_under, run_bounded, spawn_fed};

/// A small deterministic random source for choosing events and kill points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Day files whose last line is unfinished (a writer died inside it).
fn unfinished_day_files(data_dir: &Path) -> usize {
    day_files(data_dir)
        .iter()
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap();
            !bytes.is_empty() && !bytes.ends_with(b"\n")
        })
        .count()
}

/// Every line of every ledger day file: parsed records, and the lines that are not.
/// Each file must end with a whole line.
fn ledger_lines(data_dir: &Path) -> (Vec<Value>, Vec<String>) {
    let mut records = Vec::new();
    let mut garbage = Vec::new();
    for file in day_files(data_dir) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            bytes.is_empty() || bytes.ends_with(b"\n"),
            "{} does not end with a whole line",
            file.display()
        );
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<Value>(line) {
                Ok(value) if value.get("kind").is_some() && value.get("id").is_some() => {
                    records.push(value)
                }
                _ => garbage.push(String::from_utf8_lossy(line).into_owned()),
            }
        }
    }
    (records, garbage)
}

/// Request ids of `kind: request` records, each asserted to appear once.
fn request_ids_once(records: &[Value]) -> BTreeSet<String> {
    let mut seen = BTreeMap::<String, usize>::new();
    for record in records.iter().filter(|r| r["kind"] == "request") {
        *seen
            .entry(record["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "recorded more than once: {twice:?}");
    seen.into_keys().collect()
}

/// Detached `catch-up` readers started by Stop-like events, still running for `data_dir`.
fn catch_ups_running(data_dir: &Path) -> usize {
    let needle = format!("BEDROCK_HOOK_DATA_DIR={}", data_dir.display());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    procs
        .flatten()
        .filter(|p| {
            let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            if memchr_find(&cmdline, b"catch-up").is_none() {
                return false;
            }
            let environ = std::fs::read(p.path().join("environ")).unwrap_or_default();
            environ
                .split(|b| *b == 0)
                .any(|var| var == needle.as_bytes())
        })
        .count()
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn wait_for_catch_ups(data_dir: &Path) {
    let began = Instant::now();
    while catch_ups_running(data_dir) > 0 {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "catch-up readers still running after 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One transcript being written by one (simulated) client.
struct Stream {
    session: String,
    agent: Option<String>,
    main: PathBuf,
    path: PathBuf,
}

fn streams(projects: &Path, sessions: usize) -> Vec<Stream> {
    let mut streams = Vec::new();
    for s in 0..sessions {
        let session = format!("5e55{s:04}-0000-4000-a000-000000000000");
        let main = projects.join(format!("{session}.jsonl"));
        let agent = format!("a{s:016x}");
        let sub = projects
            .join(&session)
            .join("subagents")
            .join(format!("agent-{agent}.jsonl"));
        streams.push(Stream {
            session: session.clone(),
            agent: None,
            main: main.clone(),
            path: main.clone(),
        });
        streams.push(Stream {
            session,
            agent: Some(agent),
            main,
            path: sub,
        });
    }
    streams
}

fn now_ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Many hook processes at once over sessions whose transcripts grow while they run: the
/// ledger ends with exactly one record per request, no torn or interleaved lines.
#[test]
fn concurrent_hooks_over_growing_transcripts_record_each_request_once() {
    let procs = env_size("BEDROCK_HOOK_STRESS_PROCS", 16);
    let events = env_size("BEDROCK_HOOK_STRESS_EVENTS", 100);
    let began = Instant::now();
    let home = Arc::new(Home::new());
    let data = home.root().join("data");
    let projects = home.root().join("claude/projects/-home-dev-proj");
    let streams = Arc::new(streams(&projects, 8));
    for stream in streams.iter() {
        open_append(&stream.path);
    }

    // Clients: each appends requests to its transcript until the hooks are done.
    let stop = Arc::new(AtomicBool::new(false));
    let written: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let mut writers = Vec::new();
    for (n, stream) in streams.iter().enumerate() {
        let (stop, written) = (stop.clone(), written.clone());
        let (session, agent, path) = (
            stream.session.clone(),
            stream.agent.clone(),
            stream.path.clone(),
        );
        writers.push(std::thread::spawn(move || {
            let mut rng = Rng(n as u64 + 1);
            let mut file = open_append(&path);
            let mut count = 0u64;
            while !stop.load(Ordering::Relaxed) && count < 3_000 {
                let request_id = format!("req_{n:02}_{count:05}");
                let size = if rng.below(20) == 0 {
                    100_000
                } else {
                    200 + rng.below(3_000) as usize
                };
                let request = Request {
                    session: &session,
                    agent: agent.as_deref(),
                    reference: format!("ref-{n}-{count}"),
                    request_id: request_id.clone(),
                    ts: now_ts(),
                    parts: 1 + rng.below(3) as usize,
                    output: 1 + rng.below(4_000),
                    tool_output: "o".repeat(size),
                    tool_input: "echo hi".into(),
                };
                append_lines(&mut file, &request.lines());
                written.lock().unwrap().insert(request_id);
                count += 1;
                // A busy client: a request every 100-400 ms in each of 16 transcripts.
                std::thread::sleep(Duration::from_millis(100 + rng.below(300)));
            }
        }));
    }

    // Hook senders: `procs` at once, each running `events` hook processes in turn.
    let busy = Arc::new(AtomicU64::new(0));
    let hook_micros = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for p in 0..procs {
        let (streams, data, busy) = (streams.clone(), data.clone(), busy.clone());
        let home = home.clone();
        let hook_micros = hook_micros.clone();
        senders.push(std::thread::spawn(move || {
            let mut rng = Rng(1_000 + p as u64);
            for _ in 0..events {
                let stream = &streams[rng.below(streams.len() as u64) as usize];
                let roll = rng.below(200);
                let event = match roll {
                    0 => "Stop",
                    1 => "SubagentStop",
                    _ if roll < 80 => "PreToolUse",
                    _ if roll < 180 => "PostToolUse",
                    _ => "UserPromptSubmit",
                };
                let agent = if event == "Stop" || event == "UserPromptSubmit" {
                    None
                } else {
                    stream.agent.as_deref()
                };
                let input = hook_input(event, &stream.session, &stream.main, agent);
                let timer = Instant::now();
                let out = home.hook_at(&data, &input);
                hook_micros.fetch_add(timer.elapsed().as_micros() as u64, Ordering::Relaxed);
                assert!(out.status.success(), "{:?}", out.status);
                assert!(
                    out.stdout.is_empty(),
                    "{}",
                    String::from_utf8_lossy(&out.stdout)
                );
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.lines().count() <= 1, "more than one line: {stderr}");
                if stderr.contains("busy") {
                    busy.fetch_add(1, Ordering::Relaxed);
                } else {
                    assert!(stderr.is_empty(), "hook complained: {stderr}");
                }
            }
        }));
    }
    for sender in senders {
        sender.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    let hooks_done = began.elapsed();
    wait_for_catch_ups(&data);

    // The next events pick up whatever the transcripts gained since the last hook.
    for stream in streams.iter() {
        let input = hook_input(
            "PostToolUse",
            &stream.session,
            &stream.main,
            stream.agent.as_deref(),
        );
        assert_quiet_success(&home.hook_at(&data, &input), "final hook");
    }

    let (records, garbage) = ledger_lines(&data);
    assert!(garbage.is_empty(), "torn or interleaved lines: {garbage:?}");
    let recorded = request_ids_once(&records);
    let written = written.lock().unwrap().clone();
    let missing: Vec<_> = written.difference(&recorded).collect();
    let extra: Vec<_> = recorded.difference(&written).collect();
    assert!(
        missing.is_empty(),
        "{} requests missing: {missing:?}",
        missing.len()
    );
    assert!(extra.is_empty(), "records of unknown requests: {extra:?}");
    assert!(
        records
            .iter()
            .all(|r| r["kind"] == "request" && r["outcome"] == "ok"),
        "unexpected records"
    );
    let by_agent = records.iter().filter(|r| r.get("agent").is_some()).count();
    assert!(by_agent > 0 && by_agent < records.len());
    eprintln!(
        "{procs} x {events} hook processes over {} requests: {} records, {} gave up on a \
         busy ledger, {:.1} ms per hook on average, state file {} KB; hooks took {:.1}s, \
         test {:.1}s",
        written.len(),
        records.len(),
        busy.load(Ordering::Relaxed),
        hook_micros.load(Ordering::Relaxed) as f64 / (procs * events) as f64 / 1000.0,
        std::fs::metadata(data.join("state.json")).unwrap().len() / 1024,
        hooks_done.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
}

/// Sum of the ledger's day file sizes.
fn ledger_bytes(data_dir: &Path) -> u64 {
    day_files(data_dir)
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// Hooks killed with SIGKILL at random points while they append: afterwards every line
/// is a whole record or one repaired torn tail, every whole record is intact, the next
/// run works, and reading the same transcripts again leaves one record per request.
#[test]
fn writers_killed_mid_append_lose_at_most_their_torn_tail() {
    let began = Instant::now();
    let home = Home::new();
    let data = home.root().join("data");
    let projects = home.root().join("claude/projects/-home-dev-proj");
    // Transcripts of many requests spanning two UTC days: the first read of each appends
    // hundreds of KB to two day files in two writes, so kills can land inside them.
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let transcripts = 18;
    let per_transcript: i64 = 900;
    let mut written = BTreeSet::new();
    let mut paths = Vec::new();
    for t in 0..transcripts {
        let session = format!("c0ffee{t:02}-0000-4000-a000-000000000000");
        let path = projects.join(format!("{session}.jsonl"));
        let mut buffer = Vec::new();
        for n in 0..per_transcript {
            let at = yesterday + chrono::Duration::seconds(n * 86_000 / per_transcript);
            let request = Request {
                session: &session,
                agent: None,
                reference: format!("ref-{t}-{n}"),
                request_id: format!("req_{t:02}_{n:05}"),
                ts: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                parts: 2,
                output: 42,
                tool_output: "x".repeat(300),
                tool_input: "ls".into(),
            };
            written.insert(request.request_id.clone());
            buffer.extend(request.bytes());
        }
        open_append(&path).write_all(&buffer).unwrap();
        paths.push((session, path));
    }

    // How long one whole read takes here, to spread the kills over it.
    let probe = home.root().join("probe");
    let timer = Instant::now();
    let (session, path) = &paths[0];
    home.hook_at(&probe, &hook_input("PostToolUse", session, path, None));
    let whole = timer.elapsed().as_micros() as u64;

    // A third of the hooks get SIGKILL at a random instant of their run, a third a few
    // microseconds after their append has begun to reach the ledger, and a third die of
    // SIGXFSZ at a random byte of their append (a file size limit cuts the write there).
    let mut rng = Rng(7);
    let mut kills = 0;
    let mut left_torn = 0;
    for (t, (session, path)) in paths.iter().enumerate() {
        let input = hook_input("PostToolUse", session, path, None);
        let mut command = home.command_at(&data, &["hook"]);
        if t % 3 == 2 {
            let largest = day_files(&data)
                .iter()
                .map(|f| std::fs::metadata(f).unwrap().len())
                .max()
                .unwrap_or(0);
            let limit = largest.max(64 << 10) + 1 + rng.below(256 << 10);
            unsafe {
                command.pre_exec(move || {
                    let cap = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    libc::setrlimit(libc::RLIMIT_FSIZE, &cap);
                    Ok(())
                });
            }
        }
        let mut child = spawn_fed(
            command.stdout(Stdio::null()).stderr(Stdio::null()),
            input.as_bytes(),
        );
        if t % 3 == 2 {
            if child.wait().unwrap().signal() == Some(libc::SIGXFSZ) {
                kills += 1;
            }
        } else if t % 3 == 0 {
            std::thread::sleep(Duration::from_micros(rng.below(whole * 3 / 2)));
        } else {
            let size = ledger_bytes(&data);
            let deadline = Instant::now() + Duration::from_micros(whole * 3);
            while ledger_bytes(&data) == size && Instant::now() < deadline {
                std::hint::spin_loop();
            }
            let pause = Instant::now() + Duration::from_micros(rng.below(60));
            while Instant::now() < pause {
                std::hint::spin_loop();
            }
        }
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        left_torn += unfinished_day_files(&data);
    }

    // The next runs work and catch up with everything the killed ones did not finish.
    for (session, path) in &paths {
        let input = hook_input("PostToolUse", session, path, None);
        assert_quiet_success(&home.hook_at(&data, &input), "hook after the kills");
    }
    let (records, garbage) = ledger_lines(&data);
    assert!(
        garbage.len() <= kills,
        "{} bad lines after {kills} kills",
        garbage.len()
    );
    // A torn tail is the start of one record, never two records run together, and that
    // record was written again whole by a later run.
    let whole_lines: Vec<String> = day_files(&data)
        .iter()
        .flat_map(|f| {
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
            text.lines().map(str::to_string).collect::<Vec<_>>()
        })
        .filter(|l| !garbage.contains(l))
        .collect();
    for line in &garbage {
        assert!(line.matches("{\"v\":").count() <= 1, "interleaved: {line}");
        assert!(
            whole_lines
                .iter()
                .any(|whole| whole.starts_with(line.as_str())),
            "not the start of any record: {line}"
        );
    }
    assert_eq!(request_ids_once(&records), written);
    // And the live state counts what the ledger holds, whoever was killed where.
    let today = now_ts()[..10].to_string();
    let (ledger, live) = ledger_and_state_today(&data, &today);
    assert_eq!(live, ledger, "live state vs ledger after {kills} kills");

    // Reading every transcript again from the start adds nothing.
    std::fs::remove_dir_all(data.join("cursors")).unwrap();
    std::fs::remove_file(data.join("state.json")).unwrap();
    for (session, path) in &paths {
        let input = hook_input("PostToolUse", session, path, None);
        assert_quiet_success(&home.hook_at(&data, &input), "hook re-reading everything");
    }
    let (again, garbage_again) = ledger_lines(&data);
    assert_eq!(garbage_again.len(), garbage.len());
    assert_eq!(again.len(), records.len());
    assert_eq!(request_ids_once(&again), written);
    eprintln!(
        "{kills} of {transcripts} hooks killed mid-run (a whole read takes {:.0} ms), \
         {left_torn} times leaving an unfinished line; {} torn lines repaired, {} requests \
         recorded once each; {:.1}s",
        whole as f64 / 1000.0,
        garbage.len(),
        written.len(),
        began.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------- hostile files

/// Address space cap for the hostile-file runs: whatever the file, the hook must not
/// buffer it whole.
const MEMORY_CAP: u64 = 1 << 30;

fn capped(mut command: Command) -> Command {
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_CAP,
                rlim_max: MEMORY_CAP,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    command
}

/// Runs the hook and the status line on `transcript`; both must finish in `limit`, exit 0,
/// and say at most one line on stderr. Returns the hook's stderr.
fn hot_paths_fail_open(home: &Home, data: &Path, transcript: &Path, limit: Duration) -> String {
    let session = ONE_REQUEST_SESSION;
    let began = Instant::now();
    let out = run_bounded(
        capped(home.command_at(data, &["hook"])),
        hook_input("PostToolUse", session, transcript, None).as_bytes(),
        limit,
    )
    .unwrap_or_else(|| panic!("hook on {} hung", transcript.display()));
    assert!(out.status.success(), "{:?}", out.status);
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.lines().count() <= 1, "{stderr}");
    assert!(began.elapsed() < limit);
    let line = run_bounded(
        capped(home.command_at(data, &["statusline"])),
        statusline_input(session, transcript).as_bytes(),
        limit,
    )
    .unwrap_or_else(|| panic!("status line on {} hung", transcript.display()));
    assert!(line.status.success());
    assert_eq!(
        String::from_utf8_lossy(&line.stdout).lines().count(),
        1,
        "{}",
        String::from_utf8_lossy(&line.stdout)
    );
    stderr
}

/// A child killed (and reaped) when dropped, also when the test fails.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The hot paths fail open on `transcript` in time, saying it is not a regular file.
fn refused_as_not_a_regular_file(home: &Home, transcript: &Path) {
    let stderr = hot_paths_fail_open(
        home,
        &home.root().join("data"),
        transcript,
        Duration::from_secs(10),
    );
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn transcript_symlinked_to_dev_zero_is_refused_quickly() {
    let home = Home::new();
    let link = home.root().join("zero.jsonl");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    refused_as_not_a_regular_file(&home, &link);
}

#[test]
fn transcript_that_is_a_fifo_does_not_block() {
    let home = Home::new();
    let fifo = home.root().join("fifo.jsonl");
    let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Nobody writes to it: a blocking open or read would hang forever.
    refused_as_not_a_regular_file(&home, &fifo);
    // And with a writer that never stops.
    let _writer = KilledOnDrop(
        Command::new("sh")
            .arg("-c")
            .arg(format!("yes '{{}}' > '{}'", fifo.display()))
            .spawn()
            .unwrap(),
    );
    refused_as_not_a_regular_file(&home, &fifo);
}

/// A FIFO or a link to /dev/zero where the live state should be: the hook and the status
/// line neither block on it nor read it without end, and count on as if it were missing.
#[test]
fn state_file_that_is_a_fifo_or_dev_zero_does_not_block() {
    let home = Home::new();
    let projects = home.root().join("claude/projects/-p");
    let transcript = projects.join("s.jsonl");
    open_append(&transcript);
    for (name, plant) in [
        (
            "fifo",
            (|p: &Path| {
                let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).unwrap();
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            }) as fn(&Path),
        ),
        ("zero", |p: &Path| {
            std::os::unix::fs::symlink("/dev/zero", p).unwrap()
        }),
    ] {
        let data = home.root().join(format!("data-{name}"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        plant(&data.join("state.json"));
        // The status line first: it must not find a state it can wait on.
        let line = run_bounded(
            capped(home.command_at(&data, &["statusline"])),
            statusline_input("s", &transcript).as_bytes(),
            Duration::from_secs(3),
        )
        .unwrap_or_else(|| panic!("status line on a {name} state file hung"));
        assert!(line.status.success(), "{name}: {:?}", line.status);
        assert_eq!(String::from_utf8_lossy(&line.stdout).lines().count(), 1);
        let stderr = hot_paths_fail_open(&home, &data, &transcript, Duration::from_secs(3));
        assert!(stderr.is_empty(), "{name}: {stderr}");
    }
}

/// The user's config file or Claude Code's settings.json replaced by a FIFO or a link to
/// /dev/zero: the hook and the status line neither hang nor fill memory; the config
/// problem is named.
#[test]
fn config_or_settings_that_is_a_fifo_or_dev_zero_does_not_block() {
    let home = Home::new();
    let transcript = home.root().join("claude/projects/-p/s.jsonl");
    open_append(&transcript);
    let fifo = |p: &Path| {
        let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    };
    for name in ["fifo", "zero"] {
        let data = home.root().join(format!("data-{name}"));
        let config = data.with_extension("no-config.toml");
        match name {
            "fifo" => fifo(&config),
            _ => std::os::unix::fs::symlink("/dev/zero", &config).unwrap(),
        }
        let stderr = hot_paths_fail_open(&home, &data, &transcript, Duration::from_secs(3));
        assert!(stderr.contains("config"), "{name}: {stderr}");
    }
    // settings.json, read by the hook at SessionStart.
    let claude = home.root().join("claude-home");
    std::fs::create_dir_all(&claude).unwrap();
    fifo(&claude.join("settings.json"));
    let mut hook = capped(home.command_at(&home.root().join("data-settings"), &["hook"]));
    hook.env("CLAUDE_CONFIG_DIR", &claude)
        .env("HOME", home.root());
    let out = run_bounded(
        hook,
        hook_input("SessionStart", "s", &transcript, None).as_bytes(),
        Duration::from_secs(3),
    )
    .expect("hook on a FIFO settings.json hung");
    assert!(out.status.success(), "{out:?}");
}

/// A request of one part, 7 output tokens, a `true` tool printing "done", made now: what a
/// test changes of it, it names (`Request { output: 3, ..small_request(..) }`).
fn small_request<'a>(session: &'a str, reference: String, id: &str) -> Request<'a> {
    Request {
        session,
        agent: None,
        reference,
        request_id: id.into(),
        ts: now_ts(),
        parts: 1,
        output: 7,
        tool_output: "done".into(),
        tool_input: "true".into(),
    }
}

/// The session of [`one_request_session`].
const ONE_REQUEST_SESSION: &str = "b0b0b0b0-0000-4000-a000-000000000000";

/// The transcript of [`ONE_REQUEST_SESSION`] in `home`.
fn one_request_path(home: &Home) -> PathBuf {
    home.root()
        .join(format!("claude/projects/-p/{ONE_REQUEST_SESSION}.jsonl"))
}

/// The transcript of [`ONE_REQUEST_SESSION`] in `home`, holding one request, `id`.
fn one_request_session(home: &Home, id: &str) -> PathBuf {
    let transcript = one_request_path(home);
    let request = small_request(ONE_REQUEST_SESSION, format!("ref-{id}"), id);
    open_append(&transcript)
        .write_all(&request.bytes())
        .unwrap();
    transcript
}

/// A home with the one-request session `id`, its data dir (0700) with the ledger dir made,
/// and a file outside it ("precious") for links planted in the ledger to point at: (home,
/// data dir, transcript, ledger dir, today, that file).
fn planted(id: &str) -> (Home, PathBuf, PathBuf, PathBuf, chrono::NaiveDate, PathBuf) {
    let home = Home::new();
    let data = home.root().join("data");
    let transcript = one_request_session(&home, id);
    let ledger = data.join("ledger");
    std::fs::create_dir_all(&ledger).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let day = chrono::Utc::now().date_naive();
    let victim = home.root().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    (home, data, transcript, ledger, day, victim)
}

/// Links planted at today's day file and its index, pointing outside the data dir: the
/// hook fails open and the files they point at stay as they were.
#[test]
fn links_planted_at_ledger_files_are_not_written_through() {
    let (home, data, transcript, ledger, day, victim) = planted("req_planted");
    for name in [format!("{day}.jsonl"), format!("{day}.idx")] {
        std::os::unix::fs::symlink(&victim, ledger.join(&name)).unwrap();
        let stderr = hot_paths_fail_open(&home, &data, &transcript, Duration::from_secs(10));
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "{name}");
        std::fs::remove_file(ledger.join(&name)).unwrap();
    }
}

/// When the ledger cannot be written (a link planted at today's day file, a full disk),
/// the hook's one stderr line names the ledger, not the transcript it read without fault:
/// found by bench/attacks.sh, where every such failure said `reading <transcript>: Too
/// many levels of symbolic links` or `reading <transcript>: No space left on device`.
#[test]
fn a_ledger_write_error_names_the_ledger_not_the_transcript() {
    let (home, data, transcript, ledger, day, victim) = planted("req_blamed");
    std::os::unix::fs::symlink(&victim, ledger.join(format!("{day}.jsonl"))).unwrap();
    let stderr = hot_paths_fail_open(&home, &data, &transcript, Duration::from_secs(10));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains(&*transcript.to_string_lossy()),
        "the transcript is blamed for a ledger write: {stderr}"
    );
    assert!(stderr.contains("ledger"), "{stderr}");
}

/// A data dir others can write to is refused: the hook says so on one line and writes
/// nothing, the status line says so, and doctor reports it with the fix.
#[test]
fn data_dir_writable_by_others_is_refused() {
    let home = Home::new();
    let data = home.root().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let session = ONE_REQUEST_SESSION;
    let transcript = one_request_session(&home, "req_refused");
    let stderr = hot_paths_fail_open(&home, &data, &transcript, Duration::from_secs(10));
    assert!(
        stderr.contains("0777") && stderr.contains("chmod 700"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(&data).unwrap().next().is_none(),
        "wrote in it"
    );
    let line = run_bounded(
        home.command_at(&data, &["statusline"]),
        statusline_input(session, &transcript).as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(
        String::from_utf8_lossy(&line.stdout).contains("unsafe data dir"),
        "{}",
        String::from_utf8_lossy(&line.stdout)
    );
    let mut doctor = home.command_at(&data, &["doctor"]);
    doctor.env("HOME", home.root()).current_dir(home.root());
    let out = run_bounded(doctor, b"", Duration::from_secs(30)).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let found = text.lines().any(|l| {
        l.starts_with("error") && l.contains(&*data.to_string_lossy()) && l.contains("0777")
    });
    assert!(found, "{text}");
    assert!(
        text.contains(&format!("chmod 700 {}", data.display())),
        "{text}"
    );
}

/// A 2 GB line (a sparse file) before a real request: each run reads a bounded amount,
/// memory stays capped, and the request after it is recorded once the line is skipped.
#[test]
fn two_gigabyte_line_is_skipped_in_bounded_steps() {
    let home = Home::new();
    let data = home.root().join("data");
    let path = one_request_path(&home);
    let mut file = open_append(&path);
    file.write_all(b"{\"type\":\"user\",\"message\":{\"content\":\"")
        .unwrap();
    let huge = 2u64 << 30;
    file.set_len(huge).unwrap();
    let request = small_request(
        ONE_REQUEST_SESSION,
        "ref-after".into(),
        "req_after_the_huge_line",
    );
    let mut file = open_append(&path);
    file.write_all(b"\"}}\n").unwrap();
    file.write_all(&request.bytes()).unwrap();
    let mut runs = 0;
    while runs < 10 {
        runs += 1;
        let stderr = hot_paths_fail_open(&home, &data, &path, Duration::from_secs(30));
        assert!(stderr.is_empty(), "{stderr}");
        let (records, _) = ledger_lines(&data);
        if !records.is_empty() {
            assert_eq!(records.len(), 1);
            assert_eq!(records[0]["id"], "req_after_the_huge_line");
            break;
        }
    }
    let (records, _) = ledger_lines(&data);
    assert_eq!(records.len(), 1, "request after the line never recorded");
    eprintln!("the request after a 2 GiB line was recorded on run {runs}");
}

/// Runs `script` (sh) in a new user and mount namespace, where an unprivileged user can
/// mount a tmpfs of its own. `None` if this system does not allow that.
fn in_private_mounts(script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    Some(
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
            .output()
            .unwrap(),
    )
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// The data dir on a full file system (a 256 KiB tmpfs filled up) and on a read-only one:
/// the hook and the status line exit 0 in time with one line on stderr at most.
#[test]
fn ledger_on_a_full_or_read_only_file_system_fails_open() {
    let home = Home::new();
    let mount = home.root().join("mnt");
    std::fs::create_dir(&mount).unwrap();
    let projects = home.root().join("claude/projects/-p");
    let session = "f0110000-0000-4000-a000-000000000000";
    let transcript = projects.join(format!("{session}.jsonl"));
    let mut file = open_append(&transcript);
    for n in 0..50 {
        let request = Request {
            output: 3,
            tool_output: "y".repeat(2_000),
            ..small_request(session, format!("ref-{n}"), &format!("req_full_{n}"))
        };
        file.write_all(&request.bytes()).unwrap();
    }
    let hook_json = home.root().join("hook.json");
    std::fs::write(
        &hook_json,
        hook_input("PostToolUse", session, &transcript, None),
    )
    .unwrap();
    let status_json = home.root().join("status.json");
    std::fs::write(&status_json, statusline_input(session, &transcript)).unwrap();
    let data = mount.join("data");
    let run_both = format!(
        "export BEDROCK_HOOK_DATA_DIR={data} BEDROCK_HOOK_CONFIG={data}.toml NO_COLOR=1
         timeout 20 {bin} hook < {hook} > {out}/hook.out 2> {out}/hook.err; echo $? > {out}/hook.rc
         timeout 20 {bin} statusline < {status} > {out}/status.out 2> {out}/status.err; echo $? > {out}/status.rc",
        data = shell_quote(&data),
        bin = shell_quote(Path::new(BIN)),
        hook = shell_quote(&hook_json),
        status = shell_quote(&status_json),
        out = shell_quote(home.root()),
    );
    let cases = [
        (
            "full",
            format!(
                "mount -t tmpfs -o size=256k tmpfs {m} && mkdir {d} && \
                 (dd if=/dev/zero of={m}/fill bs=4k 2>/dev/null; true) && {run_both}",
                m = shell_quote(&mount),
                d = shell_quote(&data),
            ),
        ),
        (
            "read-only",
            format!(
                "mount -t tmpfs -o size=1m tmpfs {m} && mkdir {d} && \
                 mount -o remount,ro {m} && {run_both}",
                m = shell_quote(&mount),
                d = shell_quote(&data),
            ),
        ),
    ];
    for (name, script) in cases {
        let Some(out) = in_private_mounts(&script) else {
            eprintln!("SKIPPED {name} file system: no user namespaces to mount a tmpfs in");
            return;
        };
        assert!(out.status.success(), "{name}: {out:?}");
        let read = |f: &str| std::fs::read_to_string(home.root().join(f)).unwrap();
        assert_eq!(read("hook.rc").trim(), "0", "{name}: hook exit");
        assert_eq!(read("hook.out"), "", "{name}: hook stdout");
        let err = read("hook.err");
        assert_eq!(err.lines().count(), 1, "{name}: hook stderr: {err:?}");
        assert!(err.starts_with("bedrock-hook: "), "{name}: {err}");
        assert_eq!(read("status.rc").trim(), "0", "{name}: status line exit");
        assert_eq!(read("status.out").lines().count(), 1, "{name}: status line");
        assert!(read("status.err").lines().count() <= 1, "{name}");
        eprintln!("{name}: hook said {}", err.trim());
    }
}

/// A data dir that cannot be created (a path through a regular file): same promise.
#[test]
fn data_dir_that_cannot_be_created_fails_open() {
    let home = Home::new();
    let blocker = home.root().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let projects = home.root().join("claude/projects/-p");
    let transcript = projects.join("s.jsonl");
    open_append(&transcript);
    let stderr = hot_paths_fail_open(
        &home,
        &blocker.join("data"),
        &transcript,
        Duration::from_secs(10),
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("ledger"), "{stderr}");
}

// ---------------------------------------------------------------- privacy

/// After the hook and the status line have read transcripts full of prompts, tool inputs
/// and tool output, none of that text is anywhere under the data dir, and every file is
/// 0600 and every dir 0700.
#[test]
fn nothing_typed_or_printed_reaches_the_data_dir() {
    let home = Home::new();
    let data = home.root().join("data");
    let projects = home.root().join("claude/projects/-home-dev-proj");

    // The real client's sample session and its subagent.
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples");
    let sample_session = "f546e1ba-4370-400a-a093-10e9c9557bd0";
    let sample_agent = "aa784e05b3e2adbb4";
    let main = projects.join(format!("{sample_session}.jsonl"));
    let sub = projects
        .join(sample_session)
        .join("subagents")
        .join(format!("agent-{sample_agent}.jsonl"));
    std::fs::create_dir_all(sub.parent().unwrap()).unwrap();
    std::fs::copy(samples.join("transcript-main.jsonl"), &main).unwrap();
    std::fs::copy(
        samples.join(format!("transcript-subagent-agent-{sample_agent}.jsonl")),
        &sub,
    )
    .unwrap();
    let mut secrets = vec![
        "SCENARIO_AGENT go".to_string(),
        "SUBTASK_X SCENARIO_TOOL do it".to_string(),
        "echo hello-from-fake".to_string(),
        "hello-from-fake".to_string(),
        "say hello".to_string(),
    ];
    for name in std::fs::read_dir(&samples).unwrap().flatten() {
        let name = name.file_name().to_string_lossy().into_owned();
        if let Some(event) = name
            .strip_prefix("hook-")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let text = std::fs::read_to_string(samples.join(&name))
                .unwrap()
                .replace(
                    "/home/dev/.claude/projects/-home-dev-proj",
                    &projects.display().to_string(),
                );
            let payload: Value = serde_json::from_str(&text).unwrap();
            for key in ["prompt", "last_assistant_message"] {
                if let Some(text) = payload[key].as_str().filter(|t| t.len() > 4) {
                    secrets.push(text.to_string());
                }
            }
            let out = home.hook_at(&data, &text);
            assert!(out.status.success(), "{event}");
        }
    }

    // A session of our own with unmistakable text in every private place.
    let session = "0000beef-0000-4000-a000-000000000000";
    let own = projects.join(format!("{session}.jsonl"));
    let mut file = open_append(&own);
    append_lines(
        &mut file,
        &[support::lines::prompt(
            session,
            "PRIVATE-PROMPT-7f3a please refactor",
            &now_ts(),
        )],
    );
    for n in 0..5 {
        let request = Request {
            parts: 2,
            output: 11,
            tool_output: format!("PRIVATE-OUTPUT-{n}-9c1e secret file contents"),
            tool_input: format!("cat PRIVATE-INPUT-{n}-44d2"),
            ..small_request(session, format!("ref-p-{n}"), &format!("req_private_{n}"))
        };
        file.write_all(&request.bytes()).unwrap();
        secrets.push(request.tool_output.clone());
        secrets.push(request.tool_input.clone());
    }
    secrets.push("PRIVATE-PROMPT-7f3a".into());
    for event in ["UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"] {
        assert!(
            home.hook_at(&data, &hook_input(event, session, &own, None))
                .status
                .success()
        );
    }
    let line = run_bounded(
        home.command_at(&data, &["statusline"]),
        statusline_input(session, &own).as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(line.status.success());
    wait_for_catch_ups(&data);

    let (records, _) = ledger_lines(&data);
    assert!(records.len() >= 12, "{} records", records.len());
    let mut checked = 0;
    for entry in files_under(&data) {
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", entry.display());
            continue;
        }
        assert_eq!(mode, 0o600, "{} is {mode:o}", entry.display());
        let mut bytes = Vec::new();
        std::fs::File::open(&entry)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{:?} found in {}",
                secret,
                entry.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} files");
    assert_eq!(
        std::fs::metadata(&data).unwrap().mode() & 0o777,
        0o700,
        "the data dir itself"
    );
}

// ---------------------------------------------------------------- live state vs ledger

/// Today's requests and settled tokens as the ledger holds them, and as the live state
/// says (`day` UTC).
fn ledger_and_state_today(data_dir: &Path, day: &str) -> ((u64, u64), (u64, u64)) {
    let (records, _) = ledger_lines(data_dir);
    let mut ledger = (0, 0);
    for r in &records {
        if r["ts"].as_str().is_some_and(|ts| ts.starts_with(day)) && r["kind"] != "throttle" {
            ledger.0 += u64::from(r["kind"] == "request");
            ledger.1 += r["settled"].as_u64().unwrap();
        }
    }
    let state: Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["day"], day, "{state}");
    let mut live = (0, 0);
    for totals in state["today"].as_object().unwrap().values() {
        live.0 += totals["requests"].as_u64().unwrap();
        live.1 += totals["settled"].as_u64().unwrap();
    }
    (ledger, live)
}

fn requests_at(path: &Path, session: &str, first: usize, count: usize, ts: &str) {
    let mut bytes = Vec::new();
    for n in first..first + count {
        let request = Request {
            ts: ts.to_string(),
            output: 11,
            tool_output: "ok".into(),
            ..small_request(
                session,
                format!("ref-{session}-{n}"),
                &format!("req_{}_{n}", &session[..8]),
            )
        };
        bytes.extend(request.bytes());
    }
    open_append(path).write_all(&bytes).unwrap();
}

/// A writer killed between its append and the live state's swap (at its first, second,
/// ... rename: a cursor saved, the state put in place), or one whose state save failed:
/// the requests are in the ledger, and the next event's live state counts them, once.
#[test]
fn live_state_converges_to_the_ledger_after_a_writer_is_killed_at_any_rename() {
    if Command::new("strace").arg("-V").output().is_err() {
        support::skipped("strace is not installed (.ci/run installs it)");
        return;
    }
    let renames = "rename,renameat,renameat2";
    let mut killed_runs = 0;
    for when in 1..=4 {
        let home = Home::new();
        let data = home.root().join("data");
        let projects = home.root().join("claude/projects/-p");
        let session = "cafe0000-0000-4000-a000-000000000000";
        let transcript = projects.join(format!("{session}.jsonl"));
        let now = now_ts();
        requests_at(&transcript, session, 0, 3, &now);
        let input = hook_input("PostToolUse", session, &transcript, None);
        assert_quiet_success(&home.hook_at(&data, &input), "first hook");
        requests_at(&transcript, session, 3, 5, &now);

        let mut traced = Command::new("strace");
        traced.args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            &format!("trace={renames}"),
            "-e",
            &format!("inject={renames}:signal=KILL:when={when}"),
            BIN,
            "hook",
        ]);
        let plain = home.command_at(&data, &["hook"]);
        traced.env_clear();
        for (key, value) in plain.get_envs() {
            match value {
                Some(value) => traced.env(key, value),
                None => traced.env_remove(key),
            };
        }
        let out = run_bounded(traced, input.as_bytes(), Duration::from_secs(60)).unwrap();
        killed_runs += usize::from(!out.status.success());

        // The next event, from another session with nothing new to read.
        let other = "d00d0000-0000-4000-a000-000000000000";
        let empty = projects.join(format!("{other}.jsonl"));
        open_append(&empty);
        let next = hook_input("UserPromptSubmit", other, &empty, None);
        assert_quiet_success(&home.hook_at(&data, &next), "next event");
        let (ledger, live) = ledger_and_state_today(&data, &now[..10]);
        assert_eq!(ledger.0, 8, "kill at rename {when}: ledger");
        assert_eq!(live, ledger, "kill at rename {when}: live state vs ledger");
    }
    assert!(killed_runs >= 2, "only {killed_runs} runs were killed");
}

/// The clock runs a day ahead and is stepped back: a request put in flight in the future
/// still expires, and today's totals are counted again from the ledger, not restarted.
#[test]
fn stepping_the_clock_back_neither_pins_requests_in_flight_nor_loses_todays_totals() {
    let home = Home::new();
    let data = home.root().join("data");
    let projects = home.root().join("claude/projects/-p");
    let session = "c10c0000-0000-4000-a000-000000000000";
    let transcript = projects.join(format!("{session}.jsonl"));
    let at = |now: &str, event: &str, session: &str, transcript: &Path| {
        let mut command = home.command_at(&data, &["hook"]);
        command.env("BEDROCK_HOOK_NOW", now);
        let out = run_bounded(
            command,
            hook_input(event, session, transcript, None).as_bytes(),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{now}: {out:?}"
        );
    };
    let state = || -> Value {
        serde_json::from_slice(&std::fs::read(data.join("state.json")).unwrap()).unwrap()
    };
    let other = "0a0e0000-0000-4000-a000-000000000000";
    let empty = projects.join(format!("{other}.jsonl"));
    open_append(&empty);

    requests_at(&transcript, session, 0, 1, "2026-12-02T09:00:00.000Z");
    at("2026-12-02T09:01:00Z", "PostToolUse", session, &transcript);
    // A day ahead: a prompt goes out and its answer never comes.
    at(
        "2026-12-03T09:00:00Z",
        "UserPromptSubmit",
        session,
        &transcript,
    );
    assert!(state()["inflight"][session].is_object(), "{}", state());
    // Back to the real time, where the session goes on.
    requests_at(&transcript, session, 1, 1, "2026-12-02T09:05:00.000Z");
    at("2026-12-02T09:06:00Z", "SessionStart", other, &empty);
    at("2026-12-02T09:06:30Z", "PostToolUse", other, &empty);
    let (ledger, live) = ledger_and_state_today(&data, "2026-12-02");
    assert_eq!(ledger.0, 1, "the second request is not read yet");
    assert_eq!(live, ledger);
    at("2026-12-02T09:07:00Z", "PostToolUse", session, &transcript);
    let (ledger, live) = ledger_and_state_today(&data, "2026-12-02");
    assert_eq!(ledger.0, 2);
    assert_eq!(live, ledger, "today's totals after the clock went back");
    // In flight since "tomorrow": it expires like any other, inflight_stale_secs (600)
    // after the clock went back.
    at("2026-12-02T09:30:00Z", "SessionStart", other, &empty);
    assert!(
        state()["inflight"].as_object().unwrap().is_empty(),
        "{}",
        state()
    );
}
