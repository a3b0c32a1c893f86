//! StopFailure with `error: "rate_limit"`: Bedrock said 429 and the turn died. Record a
//! throttle with what bedrock-hook estimated at that moment, so `report`, `doctor` and
//! `quota calibrate` can say what the real quota must be (see `quota_setup::evidence`), and tell
//! the user now.
//!
//! The error text says which window ran out (docs/protocol.md §8.5): "Too many tokens
//! per day", "Too many tokens" (per minute), "Too many requests". The text itself is read
//! to classify it and never stored.
//!
//! The throttled call's `x-amzn-requestid` (what AWS support asks for) is taken from the
//! error text when it shows one, else from the entry the client wrote to the transcript
//! when it gave up (docs/protocol.md §6.2).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{Concern, Seen, Throttled, assess};
use crate::ledger::record::ChargedModel;
use crate::ledger::{Kind, Outcome, Record, ThrottleInfo};
use crate::quota::Limit;
use crate::transcript::wire::{Entry, classify as classify_line};
use crate::transcript::{open_transcript, subagent_transcript};

/// The `error` value of a StopFailure caused by a throttle.
pub const RATE_LIMIT_ERROR: &str = "rate_limit";

/// Which window a throttle message names, if it says.
pub fn classify(message: &str) -> Option<Limit> {
    let text = message.to_ascii_lowercase();
    if text.contains("tokens per day") || text.contains("tokens/day") {
        Some(Limit::TokensPerDay)
    } else if text.contains("too many tokens") || text.contains("tokens per minute") {
        Some(Limit::TokensPerMinute)
    } else if text.contains("too many requests") || text.contains("requests per minute") {
        Some(Limit::RequestsPerMinute)
    } else {
        None
    }
}

/// The throttle record and the concern for a StopFailure, if it was a throttle.
pub fn check(seen: &Seen<'_>) -> Option<(Record, Concern)> {
    let input = seen.input;
    if input.error.as_deref() != Some(RATE_LIMIT_ERROR) {
        return None;
    }
    let session = input.session_id.as_deref()?;
    let agent = seen.agent();
    let budget = seen.budget(session);
    let limit = input.last_assistant_message.as_deref().and_then(classify);
    let next = &budget.next;
    // The window as Bedrock saw it: everything held, plus the refused request itself.
    let info = ThrottleInfo {
        limit,
        day_used: budget.day_used() + next.reservation,
        minute_used: budget.minute_used() + next.reservation,
        minute_requests: budget.minute_requests + budget.inflight as u64,
        tpd: budget.quotas.tpd,
        tpm: budget.quotas.tpm,
        rpm: budget.quotas.rpm,
        ..ThrottleInfo::default()
    };
    let mut info = info;
    if let Some((account, others, reserved)) =
        crate::account::share::at_throttle(seen.config, &budget, next.reservation, seen.now)
    {
        info.account_day_used = Some(account);
        info.others_day_used = Some(others);
        info.reserved_then = Some(reserved);
    }
    info.request_id = input
        .last_assistant_message
        .as_deref()
        .and_then(crate::account::verdict::request_id_in)
        .or_else(|| {
            let main = Path::new(input.transcript_path.as_deref()?);
            match agent {
                Some(agent) => request_id_in_transcript(&subagent_transcript(main, agent)),
                None => request_id_in_transcript(main),
            }
        });
    let turn = input
        .prompt_id
        .clone()
        .unwrap_or_else(|| seen.now.timestamp_millis().to_string());
    // Named by the refused call when it is known, as the transcript's record of the same
    // throttle is (`ingest` records it when this hook did not run): it counts once.
    let id = match (agent, &info.request_id) {
        (Some(agent), Some(request)) => format!("{session}/{agent}:429:{request}"),
        (None, Some(request)) => format!("{session}:429:{request}"),
        (Some(agent), None) => format!("{session}/{agent}:{turn}"),
        (None, None) => format!("{session}:{turn}"),
    };
    let charged = ChargedModel {
        model: next.model.clone(),
        model_norm: next.model_norm.clone(),
        burndown: next.burndown,
        burndown_assumed: next.burndown_assumed,
    };
    let record = Record {
        agent: agent.map(str::to_string),
        max_tokens: Some(next.max_tokens),
        max_tokens_source: next.max_tokens_source,
        reserved: next.reservation,
        outcome: Outcome::NoResponse,
        project: input.cwd.clone(),
        throttle: Some(info.clone()),
        ..Record::new(Kind::Throttle, id, seen.now, session.to_string(), charged)
    };
    let fix = assess::max_tokens_fix(&budget.next, seen.state.max_output_seen, seen.config);
    Some((
        record,
        Concern::Throttled(Throttled {
            budget,
            limit,
            info,
            fix,
        }),
    ))
}

/// How much of a transcript's end is read for the client's error entry: when StopFailure
/// fires it is the last entry but a `last-prompt` line or two.
const ERROR_TAIL_BYTES: u64 = 64 * 1024;

/// How long, and how often, the transcript is read again while its last entry is the
/// refused request itself: the client writes its error entry as it runs the hook, and now
/// and then the hook reads first. Named by the turn instead, this throttle's record would
/// count a second time when the error entry is read. Only a throttled turn waits, at most
/// this long (the turn is over).
const ERROR_ENTRY_WAIT: std::time::Duration = std::time::Duration::from_millis(400);
const ERROR_ENTRY_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// The `requestId` (Bedrock's `x-amzn-requestid`) of the `assistant` entry with
/// `isApiErrorMessage` that the client writes when it gives up on a request, if that is
/// the last response in the transcript's tail: a response, a request sent or a user turn
/// after it means it is not this failure's. A request sent and not yet answered may be
/// the refused one whose error entry is on its way: waited for (`ERROR_ENTRY_WAIT`).
fn request_id_in_transcript(path: &Path) -> Option<String> {
    let deadline = std::time::Instant::now() + ERROR_ENTRY_WAIT;
    loop {
        match read_error_entry(path).unwrap_or(ErrorEntry::None) {
            ErrorEntry::Unanswered if std::time::Instant::now() < deadline => {
                std::thread::sleep(ERROR_ENTRY_POLL);
            }
            ErrorEntry::Found(id) => return id,
            ErrorEntry::Unanswered | ErrorEntry::None => return None,
        }
    }
}

/// What the transcript's tail ends with, as far as the client's error entry goes.
enum ErrorEntry {
    /// The error entry, with its request id if it is shaped like one.
    Found(Option<String>),
    /// A request sent, and nothing after it yet.
    Unanswered,
    /// Anything else: no transcript, a response, a user turn.
    None,
}

fn read_error_entry(path: &Path) -> Option<ErrorEntry> {
    let mut file = open_transcript(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let start = meta.len().saturating_sub(ERROR_TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut tail = Vec::new();
    file.take(ERROR_TAIL_BYTES).read_to_end(&mut tail).ok()?;
    // Past the file's start the first line is cut: leave it out.
    let whole = match start {
        0 => &tail[..],
        _ => &tail[tail.iter().position(|b| *b == b'\n')? + 1..],
    };
    for line in whole.rsplit(|b| *b == b'\n') {
        match classify_line(line) {
            Entry::Assistant(a) if a.is_api_error_message == Some(true) => {
                let id = a
                    .request_id
                    .as_deref()
                    .and_then(crate::account::verdict::request_id);
                return Some(ErrorEntry::Found(id));
            }
            Entry::ApiRequest(_) => return Some(ErrorEntry::Unanswered),
            Entry::Assistant(_) | Entry::UserTurn => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::ClientEnv;
    use crate::event::HookInput;
    use crate::guard::assess::tests::{config, now, state};
    use crate::guard::message;

    #[test]
    fn classifies_bedrock_messages() {
        let cases = [
            (
                "API Error: Request rejected (429) \u{b7} Too many tokens per day, please wait before trying again.",
                Some(Limit::TokensPerDay),
            ),
            (
                "Too many tokens, please wait before trying again.",
                Some(Limit::TokensPerMinute),
            ),
            (
                "Too many requests, please wait before trying again.",
                Some(Limit::RequestsPerMinute),
            ),
            ("This request would exceed your account's rate limit.", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text), want, "{text}");
        }
    }

    fn failure(error: &str) -> HookInput {
        HookInput::parse(
            format!(
                r#"{{"session_id":"s","prompt_id":"p1","cwd":"/w","hook_event_name":"StopFailure","error":"{error}","last_assistant_message":"API Error: Request rejected (429) · Too many tokens per day, please wait before trying again."}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn records_the_estimate_with_the_refused_request() {
        let c = config(Some(10_000_000), Some(4_000_000), None);
        let (record, concern) = check(&Seen::new(
            &failure("rate_limit"),
            &state(),
            &c,
            now(),
            &ClientEnv::default(),
        ))
        .unwrap();
        assert_eq!(record.kind, Kind::Throttle);
        assert_eq!(record.id, "s:p1");
        assert_eq!(record.reserved, 1_292_000);
        assert_eq!(record.project.as_deref(), Some("/w"));
        let info = record.throttle.as_ref().unwrap();
        assert_eq!(info.limit, Some(Limit::TokensPerDay));
        assert_eq!(info.day_used, 400_000 + 1_292_000);
        assert_eq!(info.minute_used, 500_000 + 1_292_000);
        assert_eq!(info.minute_requests, 2);
        assert_eq!(info.tpd, Some(10_000_000));
        let text = message::text(&concern, false, &c, now());
        assert_eq!(
            text,
            "bedrock-hook: Bedrock throttled this turn (429: too many tokens per day). At that \
             moment bedrock-hook estimated 1.69M of the 10M TPD used (17%), the refused \
             request's 1.29M (claude-opus-5-5: 12k input + 128k max_tokens x 10 burndown) \
             included. Left: 9.6M of 10M TPD, 3.5M of 4M TPM; nothing in flight. So the \
             effective TPD is nearer 1.69M, or something else on the same account and region \
             (a teammate, another machine, CI) used about 8.31M today. The TPD resets at 00:00 \
             UTC (in 12h 0m). Fix: `bedrock-hook quota calibrate` adopts what the throttles \
             say; set CLAUDE_CODE_MAX_OUTPUT_TOKENS=5120 (largest output seen 3.1k + 50% \
             headroom) and restart Claude Code (`bedrock-hook doctor --fix` writes it to \
             settings.json) so a request reserves 63.2k."
        );
    }

    #[test]
    fn other_failures_are_not_throttles() {
        let c = config(Some(10_000_000), None, None);
        assert!(
            check(&Seen::new(
                &failure("server_error"),
                &state(),
                &c,
                now(),
                &ClientEnv::default()
            ))
            .is_none()
        );
    }

    /// The entries the client (2.1.328) wrote for a request throttled on both attempts,
    /// shortened: the last attempt's error entry carries the call's `x-amzn-requestid`.
    const GAVE_UP: &str = concat!(
        r#"{"type":"user","message":{"role":"user","content":"go"},"sessionId":"s"}"#,
        "\n",
        r#"{"type":"api-request","sessionId":"s","id":"b17a5d9f","timestamp":"2026-12-02T14:07:03.534Z","params":{"model":"us.anthropic.claude-opus-5-5","max_tokens":128000}}"#,
        "\n",
        r#"{"type":"system","subtype":"api_error","level":"error","error":{"message":"429 Too many tokens per day, please wait before trying again.","status":429},"retryInMs":549,"retryAttempt":1,"maxRetries":1}"#,
        "\n",
        r#"{"type":"api-request","sessionId":"s","id":"c2ca1b0d","timestamp":"2026-12-02T14:07:04.103Z","params":{"model":"us.anthropic.claude-opus-5-5","max_tokens":128000}}"#,
        "\n",
        r#"{"type":"assistant","timestamp":"2026-12-02T14:07:10.219Z","message":{"id":"43dc63d3","model":"<synthetic>","role":"assistant","usage":{"input_tokens":0,"output_tokens":0},"content":[{"type":"text","text":"API Error: Request rejected (429) · Too many tokens per day, please wait before trying again."}]},"requestId":"2483d6ef-80e2-4f48-80bb-000000000002","error":"rate_limit","isApiErrorMessage":true,"apiErrorStatus":429}"#,
        "\n",
        r#"{"type":"last-prompt","lastPrompt":"go","sessionId":"s"}"#,
        "\n",
    );

    fn failure_in(transcript: &Path, agent: Option<&str>, message: &str) -> HookInput {
        let mut input = serde_json::json!({
            "session_id": "s", "prompt_id": "p1", "cwd": "/w",
            "hook_event_name": "StopFailure", "error": "rate_limit",
            "transcript_path": transcript, "last_assistant_message": message,
        });
        if let Some(agent) = agent {
            input["agent_id"] = agent.into();
        }
        HookInput::parse(input.to_string().as_bytes()).unwrap()
    }

    fn request_id_of(input: &HookInput) -> Option<String> {
        let c = config(Some(10_000_000), Some(4_000_000), None);
        let (record, _) = check(&Seen::new(
            input,
            &state(),
            &c,
            now(),
            &ClientEnv::default(),
        ))
        .unwrap();
        record.throttle.unwrap().request_id
    }

    const MESSAGE: &str = "API Error: Request rejected (429) · Too many tokens per day";

    #[test]
    fn the_request_id_comes_from_the_clients_error_entry() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("s.jsonl");
        std::fs::write(&main, GAVE_UP).unwrap();
        let id = Some("2483d6ef-80e2-4f48-80bb-000000000002".to_string());
        assert_eq!(request_id_of(&failure_in(&main, None, MESSAGE)), id);
        // The error text's own id wins.
        let shown = format!("{MESSAGE} x-amzn-requestid: 3f1c9a2e-8b7d-4c1e-9f0a-123456789abc");
        assert_eq!(
            request_id_of(&failure_in(&main, None, &shown)).as_deref(),
            Some("3f1c9a2e-8b7d-4c1e-9f0a-123456789abc")
        );
        // Far down a long transcript.
        let mut long = "{\"type\":\"user\",\"message\":{\"content\":\"x\"}}\n".repeat(5000);
        long.push_str(GAVE_UP);
        std::fs::write(&main, long).unwrap();
        assert_eq!(request_id_of(&failure_in(&main, None, MESSAGE)), id);
        // A subagent's failure reads the subagent's transcript.
        let sub = subagent_transcript(&main, "a1");
        std::fs::create_dir_all(sub.parent().unwrap()).unwrap();
        std::fs::write(&sub, GAVE_UP.replace("000000000002", "0000000000a1")).unwrap();
        assert_eq!(
            request_id_of(&failure_in(&main, Some("a1"), MESSAGE)).as_deref(),
            Some("2483d6ef-80e2-4f48-80bb-0000000000a1")
        );
    }

    #[test]
    fn an_error_entry_written_while_the_hook_reads_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("s.jsonl");
        // The hook reads while the client has sent the refused request and not yet
        // written the entry for giving up on it.
        let (sent, gave_up) = GAVE_UP.split_at(GAVE_UP.find("{\"type\":\"assistant\"").unwrap());
        std::fs::write(&main, sent).unwrap();
        let writer = {
            let main = main.clone();
            let gave_up = gave_up.to_string();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let mut file = std::fs::OpenOptions::new().append(true).open(main).unwrap();
                std::io::Write::write_all(&mut file, gave_up.as_bytes()).unwrap();
            })
        };
        let id = request_id_of(&failure_in(&main, None, MESSAGE));
        writer.join().unwrap();
        assert_eq!(id.as_deref(), Some("2483d6ef-80e2-4f48-80bb-000000000002"));
        // Nothing on its way: the wait ends.
        std::fs::write(&main, sent).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(request_id_of(&failure_in(&main, None, MESSAGE)), None);
        assert!(
            started.elapsed() < ERROR_ENTRY_WAIT * 3,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn no_request_id_unless_the_last_response_is_the_clients_error() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("s.jsonl");
        let input = failure_in(&main, None, MESSAGE);
        assert_eq!(request_id_of(&input), None, "no transcript");
        // A request sent after the error entry: the error is an earlier one's.
        let later = r#"{"type":"api-request","id":"d","params":{"max_tokens":1}}"#;
        std::fs::write(&main, format!("{GAVE_UP}{later}\n")).unwrap();
        assert_eq!(request_id_of(&input), None);
        // Not shaped like a request id: never stored.
        let odd = GAVE_UP.replace("\"2483d6ef", "\"\\u001b[31m2483d6ef");
        std::fs::write(&main, odd).unwrap();
        assert_eq!(request_id_of(&input), None);
        // A FIFO in its place is not waited on.
        std::fs::remove_file(&main).unwrap();
        let path = std::ffi::CString::new(main.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        assert_eq!(request_id_of(&input), None);
    }
}
