#![allow(dead_code)]
//! Transcript lines as Claude Code 2.1.x writes them (same fields as the samples in
//! tests/fixtures/samples), for tests that grow transcripts while bedrock-hook reads them,
//! and the hook / status line payloads that point at them.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde_json::json;

pub const MODEL: &str = "us.anthropic.claude-opus-5-5";
pub const MAX_TOKENS: u64 = 128_000;

/// One request as the client writes it: the `api-request` entry, the response split over
/// `parts` assistant entries sharing one request id, and the tool result that follows.
pub struct Request<'a> {
    pub session: &'a str,
    pub agent: Option<&'a str>,
    /// The client's id of the request (`requestRef` in the response).
    pub reference: String,
    /// The API's request id: what the ledger records it under.
    pub request_id: String,
    pub ts: String,
    pub parts: usize,
    pub output: u64,
    /// Text of the tool result line (tool output: must never reach the data dir).
    pub tool_output: String,
    /// Text of the tool input (must never reach the data dir either).
    pub tool_input: String,
}

impl Request<'_> {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(self.parts + 2);
        let mut api = json!({
            "type": "api-request", "sessionId": self.session, "id": self.reference,
            "timestamp": self.ts, "version": "2.1.328", "querySource": "sdk",
            "params": {"model": MODEL, "max_tokens": MAX_TOKENS,
                       "thinking": {"type": "adaptive", "display": "omitted"}},
        });
        if let Some(agent) = self.agent {
            api["agentId"] = json!(agent);
        }
        lines.push(api.to_string());
        for part in 0..self.parts {
            let content = if part + 1 == self.parts {
                json!([{"type": "tool_use", "id": format!("toolu_{}", self.request_id),
                        "name": "Bash", "input": {"command": self.tool_input}}])
            } else {
                json!([{"type": "text", "text": "working on it"}])
            };
            let mut assistant = json!({
                "parentUuid": null, "isSidechain": self.agent.is_some(),
                "message": {"id": format!("msg_{}", self.request_id), "type": "message",
                            "role": "assistant", "model": MODEL, "content": content,
                            "stop_reason": "tool_use",
                            "usage": {"input_tokens": 100,
                                      "cache_creation_input_tokens": 10,
                                      "cache_read_input_tokens": 5000,
                                      "output_tokens": self.output}},
                "requestId": self.request_id, "requestRef": self.reference,
                "type": "assistant", "uuid": format!("u-{}-{part}", self.request_id),
                "timestamp": self.ts, "cwd": "/home/dev/proj", "sessionId": self.session,
                "version": "2.1.328",
            });
            if let Some(agent) = self.agent {
                assistant["agentId"] = json!(agent);
            }
            lines.push(assistant.to_string());
        }
        let mut result = json!({
            "parentUuid": null, "isSidechain": self.agent.is_some(), "type": "user",
            "message": {"role": "user", "content": [{
                "tool_use_id": format!("toolu_{}", self.request_id), "type": "tool_result",
                "content": self.tool_output, "is_error": false}]},
            "toolUseResult": {"stdout": self.tool_output, "stderr": "", "interrupted": false},
            "timestamp": self.ts, "sessionId": self.session,
        });
        if let Some(agent) = self.agent {
            result["agentId"] = json!(agent);
        }
        lines.push(result.to_string());
        lines
    }

    /// All lines, newline-terminated, as one buffer.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.lines() {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out
    }
}

/// A user prompt line (prompt text: must never reach the data dir).
pub fn prompt(session: &str, text: &str, ts: &str) -> String {
    json!({"parentUuid": null, "isSidechain": false, "type": "user",
           "message": {"role": "user", "content": text}, "timestamp": ts,
           "sessionId": session, "cwd": "/home/dev/proj"})
    .to_string()
}

/// Append whole lines with one write each, as the client does.
pub fn append_lines(file: &mut File, lines: &[String]) {
    for line in lines {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        file.write_all(&bytes).unwrap();
    }
}

pub fn open_append(path: &Path) -> File {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// A hook payload for `event` on a session transcript (and a subagent's, with `agent`).
pub fn hook_input(event: &str, session: &str, transcript: &Path, agent: Option<&str>) -> String {
    let mut value = json!({
        "session_id": session, "transcript_path": transcript, "cwd": "/home/dev/proj",
        "permission_mode": "default", "hook_event_name": event, "tool_name": "Bash",
        "tool_input": {"command": "echo hi"}, "tool_use_id": "toolu_x",
    });
    if let Some(agent) = agent {
        value["agent_id"] = json!(agent);
        value["agent_type"] = json!("general-purpose");
    }
    value.to_string()
}

/// The status line payload for a session transcript.
pub fn statusline_input(session: &str, transcript: &Path) -> String {
    json!({"session_id": session, "transcript_path": transcript, "cwd": "/home/dev/proj",
           "model": {"id": MODEL, "display_name": "Opus 5.5"}, "version": "2.1.328"})
    .to_string()
}
