//! The write path end to end over the sample transcripts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::read::PREPARE_MAX_ITEMS;
use super::*;
use crate::config::Config;
use crate::ledger::Ledger;
use crate::paths::Paths;
use crate::transcript::{self, Assembled, Response, SentRequest};

fn setup() -> (tempfile::TempDir, Paths, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(&dir.path().join("data"));
    let main = dir.path().join("s.jsonl");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/samples/transcript-main.jsonl"
        ),
        &main,
    )
    .unwrap();
    (dir, paths, main)
}

const IMPORT: ReadOpts = ReadOpts {
    unanswered_before: Some(DateTime::<Utc>::MAX_UTC),
    drain: true,
    ..HOOK_READ
};

/// [`prepare`] as an import worker calls it.
fn prepare_file(paths: &Paths, transcript: &Path, opts: ReadOpts) -> Prepared {
    let file = transcript::open_transcript(transcript).unwrap();
    let config = Config::default();
    let maker = RecordMaker::new(&config, crate::clock::now());
    let origin = Origin::default();
    prepare(
        paths,
        &maker,
        transcript,
        &origin,
        &file,
        opts,
        &mut Vec::new(),
    )
    .unwrap()
}

fn writer<'a>(paths: &'a Paths, config: &'a Config) -> Writer<'a> {
    Writer::begin(paths, config, crate::clock::now(), Duration::from_secs(5))
        .unwrap()
        .unwrap()
}

fn answered(id: &str, sent_ts: &str, answer_ts: &str) -> Assembled {
    let sent: SentRequest = serde_json::from_value(serde_json::json!({
        "id": id, "ts": sent_ts, "model": "us.anthropic.claude-opus-5-5", "max_tokens": 4096
    }))
    .unwrap();
    let response: Response = serde_json::from_value(serde_json::json!({
        "key": id, "request_id": id, "ts": answer_ts,
        "usage": {"input": 1, "cache_write": 0, "cache_read": 0, "output": 1}
    }))
    .unwrap();
    Assembled::Answered {
        sent: Some(sent),
        response: Box::new(response),
    }
}

#[test]
fn a_request_lands_on_its_own_day_whatever_time_it_is_read() {
    // Read days later (cursors deleted, or an import): the request keeps the day of
    // the best time it has: sent, else answered, else its neighbour's.
    let config = Config::default();
    let later: DateTime<Utc> = "2026-11-25T08:00:00Z".parse().unwrap();
    let maker = RecordMaker::new(&config, later);
    let items = maker.items(
        vec![
            answered("a", "not a time", "2026-11-20T10:00:01Z"),
            answered("b", "2026-11-20T23:59:00Z", "2026-11-21T00:00:30Z"),
            answered("c", "", "garbage"),
        ],
        &Origin::default(),
    );
    let days: Vec<String> = items
        .iter()
        .map(|item| match item {
            Item::Answered(entry) => entry.record.ts.to_rfc3339(),
            _ => panic!("not a request"),
        })
        .collect();
    assert_eq!(
        days,
        [
            "2026-11-20T10:00:01+00:00",
            "2026-11-20T23:59:00+00:00",
            "2026-11-20T23:59:00+00:00"
        ]
    );
}

#[test]
fn prepared_then_applied_equals_ingested() {
    let (_dir, paths, main) = setup();
    let config = Config::default();
    let prepared = prepare_file(&paths, &main, IMPORT);
    let mut w = writer(&paths, &config);
    let done = w
        .apply(&main, &Origin::default(), IMPORT, prepared)
        .unwrap();
    w.finish().unwrap();
    // Four requests, and the subagent's usage as a side record (no subagent here).
    assert_eq!((done.records, done.appended), (5, 5));
    let mut w = writer(&paths, &config);
    let again = w.ingest(&main, &Origin::default(), IMPORT).unwrap();
    assert_eq!((again.records, again.bytes), (0, 0));
}

#[test]
fn stale_preparation_is_read_again_and_counted_once() {
    let (_dir, paths, main) = setup();
    let config = Config::default();
    // Prepared without the lock, then a hook reads the transcript first.
    let prepared = prepare_file(&paths, &main, IMPORT);
    let mut hook = writer(&paths, &config);
    let by_hook = hook.ingest(&main, &Origin::default(), IMPORT).unwrap();
    hook.finish().unwrap();
    assert_eq!(by_hook.appended, 5);
    let mut w = writer(&paths, &config);
    let late = w
        .apply(&main, &Origin::default(), IMPORT, prepared)
        .unwrap();
    assert_eq!((late.records, late.appended), (0, 0));
    let ledger = Ledger::new(&paths);
    let day = "2026-11-22".parse().unwrap();
    assert_eq!(ledger.read_day(day).unwrap().0.len(), 5);
}

#[test]
fn huge_transcripts_are_prepared_in_bounded_pieces() {
    let (_dir, paths, main) = setup();
    let config = Config::default();
    // Many small requests: more than one preparation's worth.
    let mut text = String::new();
    for i in 0..(2 * PREPARE_MAX_ITEMS) {
        text.push_str(&format!(
            "{{\"type\":\"assistant\",\"requestId\":\"r{i}\",\"timestamp\":\"2026-11-22T01:00:00Z\",\"message\":{{\"id\":\"m{i}\",\"model\":\"claude-sonnet-4-5\",\"usage\":{{\"input_tokens\":1,\"output_tokens\":1}}}}}}\n"
        ));
    }
    std::fs::write(&main, text).unwrap();
    let small = ReadOpts {
        limits: Limits {
            budget: 64 << 10,
            max_line: 1 << 20,
        },
        ..IMPORT
    };
    let prepared = prepare_file(&paths, &main, small);
    assert!(!prepared.complete, "{} items", prepared.items.len());
    // Stopped after the block that reached the bound.
    assert!(prepared.items.len() < 2 * PREPARE_MAX_ITEMS);
    let mut w = writer(&paths, &config);
    let done = w.apply(&main, &Origin::default(), small, prepared).unwrap();
    assert_eq!(done.appended, 2 * PREPARE_MAX_ITEMS);
}
