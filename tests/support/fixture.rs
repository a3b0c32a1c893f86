#![allow(dead_code)]
//! Sample payloads and transcripts captured from the real client, laid out in a temp dir
//! the way Claude Code lays them out, and the built binary run over them.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

pub const SESSION: &str = "f546e1ba-4370-400a-a093-10e9c9557bd0";
pub const AGENT: &str = "aa784e05b3e2adbb4";
/// Forty seconds after the samples' last request.
pub const SAMPLE_NOW: &str = "2026-11-22T01:40:00Z";
const SAMPLE_PROJECTS: &str = "/home/dev/.claude/projects/-home-dev-proj";

pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples")
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// A projects dir holding the sample session and its subagent transcript.
    pub fn new() -> Fixture {
        let fixture = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        let subagents = fixture.projects().join(SESSION).join("subagents");
        std::fs::create_dir_all(&subagents).unwrap();
        std::fs::copy(
            samples_dir().join("transcript-main.jsonl"),
            fixture.main_transcript(),
        )
        .unwrap();
        std::fs::copy(
            samples_dir().join(format!("transcript-subagent-agent-{AGENT}.jsonl")),
            subagents.join(format!("agent-{AGENT}.jsonl")),
        )
        .unwrap();
        fixture
    }

    pub fn projects(&self) -> PathBuf {
        self.dir.path().join("claude/projects/-home-dev-proj")
    }

    pub fn main_transcript(&self) -> PathBuf {
        self.projects().join(format!("{SESSION}.jsonl"))
    }

    pub fn subagent_transcript(&self) -> PathBuf {
        self.projects()
            .join(SESSION)
            .join("subagents")
            .join(format!("agent-{AGENT}.jsonl"))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// A sample hook payload (`hook-<name>.json`) pointed at this fixture's transcripts.
    pub fn payload(&self, name: &str) -> String {
        let text =
            std::fs::read_to_string(samples_dir().join(format!("hook-{name}.json"))).unwrap();
        text.replace(SAMPLE_PROJECTS, &self.projects().display().to_string())
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("bedrock-hook").unwrap();
        command
            .args(args)
            .env_remove("NO_COLOR")
            .env_remove("CLAUDE_CODE_MAX_OUTPUT_TOKENS")
            .env_remove("ANTHROPIC_MODEL")
            .env("BEDROCK_HOOK_DATA_DIR", self.data_dir())
            .env("BEDROCK_HOOK_CONFIG", self.config_file());
        for (key, _) in std::env::vars() {
            if key.starts_with("BEDROCK_HOOK_")
                && key != "BEDROCK_HOOK_DATA_DIR"
                && key != "BEDROCK_HOOK_CONFIG"
            {
                command.env_remove(key);
            }
        }
        // The samples were recorded on this day: "today" is pinned to it, so the suite
        // gives the same answers whatever day it runs. A test may pin another moment.
        command.env("BEDROCK_HOOK_NOW", SAMPLE_NOW);
        command
    }

    /// Run `bedrock-hook hook` with `stdin`.
    pub fn hook(&self, stdin: &str) -> Output {
        self.command(&["hook"])
            .write_stdin(stdin.to_string())
            .output()
            .unwrap()
    }

    pub fn statusline(&self, stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut command = self.command(&["statusline"]);
        command.env("NO_COLOR", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        command.write_stdin(stdin.to_string()).output().unwrap()
    }

    pub fn ledger(&self) -> Vec<Value> {
        read_ledger(&self.data_dir())
    }
}

/// Every line of every ledger day file under `data_dir`, oldest day first, parsed.
pub fn read_ledger(data_dir: &Path) -> Vec<Value> {
    let mut records = Vec::new();
    let Ok(entries) = std::fs::read_dir(data_dir.join("ledger")) else {
        return records;
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "jsonl"))
    {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            records.push(serde_json::from_str(line).expect("ledger lines are JSON"));
        }
    }
    records
}
