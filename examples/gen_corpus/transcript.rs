//! Writes transcript lines shaped like the ones Claude Code 2.1.x writes (see
//! tests/fixtures/samples/transcript-*.jsonl): `api-request` entries with the real
//! `params.max_tokens`, responses split over several `assistant` entries sharing one
//! `requestId`, tool results of any size in `user` lines, attachments, `cost-state` at the
//! end of each turn, and subagents in `<session>/subagents/agent-<id>.jsonl`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use bedrock_hook::quota::Usage;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::rng::Rng;
use super::text::TextPool;

pub const VERSION: &str = "2.1.328";

/// The models a session or subagent may run on, with the max_tokens the client sends.
pub const MODELS: &[(&str, u64)] = &[
    ("us.anthropic.claude-opus-5-5", 128_000),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 64_000),
    ("global.anthropic.claude-sonnet-5", 64_000),
];
/// Title generation and classifiers: in `cost-state` only, never in an assistant entry.
pub const SIDE_MODEL: &str = "global.anthropic.claude-haiku-4-5-20251001-v1:0";

/// Size of one tool result, in bytes of escaped text: mostly small, a long tail of file
/// reads and build logs from tens of KB to megabytes.
pub fn tool_result_len(rng: &mut Rng, cap: usize) -> usize {
    let roll = rng.f64();
    let len = if roll < 0.55 {
        rng.log_uniform(100, 3_000)
    } else if roll < 0.88 {
        rng.log_uniform(3_000, 40_000)
    } else if roll < 0.985 {
        rng.log_uniform(40_000, 250_000)
    } else {
        rng.log_uniform(250_000, 2_500_000)
    };
    (len as usize).min(cap)
}

pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One transcript file being written: a main session or one of its subagents.
pub struct Stream<'a> {
    out: BufWriter<File>,
    pub bytes: u64,
    pub session: String,
    /// `"agentId":"...",` for subagent lines, empty otherwise.
    agent_field: String,
    sidechain: bool,
    cwd: String,
    parent: String,
    prompt_id: String,
    pub clock: DateTime<Utc>,
    /// Context the next request carries (grows through a session).
    context: u64,
    pub model: &'static str,
    pub max_tokens: u64,
    pool: &'a TextPool,
    /// Largest tool result this stream may write.
    pub result_cap: usize,
    /// How fast the clock moves between entries (1: as a real session; less: a burst
    /// squeezed into a shorter span).
    pub pace: f64,
}

/// What a request added to the session's totals.
pub struct Sent {
    pub model: &'static str,
    pub usage: Usage,
}

impl<'a> Stream<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        path: &Path,
        session: &str,
        agent: Option<&str>,
        cwd: &str,
        clock: DateTime<Utc>,
        model: (&'static str, u64),
        pool: &'a TextPool,
        rng: &mut Rng,
    ) -> io::Result<Stream<'a>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::options()
            .create(true)
            .append(true)
            .truncate(false)
            .open(path)?;
        Ok(Stream {
            out: BufWriter::with_capacity(1 << 20, file),
            bytes: 0,
            session: session.to_string(),
            agent_field: agent
                .map(|a| format!("\"agentId\":\"{a}\","))
                .unwrap_or_default(),
            sidechain: agent.is_some(),
            cwd: cwd.to_string(),
            parent: rng.uuid(),
            prompt_id: rng.uuid(),
            clock,
            context: rng.range(9_000, 16_000),
            model: model.0,
            max_tokens: model.1,
            pool,
            result_cap: 4 << 20,
            pace: 1.0,
        })
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.bytes += text.len() as u64 + 1;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flush, and date the file at its last entry, as Claude Code's own files are: a
    /// transcript of last week was last written last week.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out
            .get_ref()
            .set_modified(std::time::SystemTime::from(self.clock))
    }

    fn tick(&mut self, rng: &mut Rng, lo_ms: u64, hi_ms: u64) -> String {
        let step_ms = rng.range(lo_ms, hi_ms) as f64 * self.pace;
        self.clock += Duration::milliseconds(step_ms as i64);
        ts(self.clock)
    }

    fn common(&self) -> String {
        format!(
            r#""userType":"external","entrypoint":"cli","cwd":"{}","sessionId":"{}","version":"{VERSION}","gitBranch":"main""#,
            self.cwd, self.session
        )
    }

    fn next_uuid(&mut self, rng: &mut Rng) -> (String, String) {
        let uuid = rng.uuid();
        let parent = std::mem::replace(&mut self.parent, uuid.clone());
        (parent, uuid)
    }

    /// A user prompt starting a turn, with the attachments the client adds to it.
    pub fn prompt(&mut self, rng: &mut Rng, text: &str) -> io::Result<()> {
        self.prompt_id = rng.uuid();
        let at = self.tick(rng, 200, 2_000);
        if !self.sidechain {
            let line = format!(
                r#"{{"type":"queue-operation","operation":"enqueue","timestamp":"{at}","sessionId":"{}","content":"{text}"}}"#,
                self.session
            );
            self.line(&line)?;
        }
        let (parent, uuid) = self.next_uuid(rng);
        let line = format!(
            r#"{{"parentUuid":"{parent}","isSidechain":{},"promptId":"{}",{}"type":"user","message":{{"role":"user","content":"{text}"}},"uuid":"{uuid}","timestamp":"{at}","permissionMode":"default","promptSource":"repl","turnOrigin":"repl",{}}}"#,
            self.sidechain,
            self.prompt_id,
            self.agent_field,
            self.common()
        );
        self.line(&line)?;
        let snapshot = self.pool.slice(rng, 1_000);
        for (kind, body) in [
            (
                "environment",
                format!(
                    r#"{{"type":"environment","snapshot":{{"workingDirectory":"{}","isWorktree":false,"isGitRepo":true,"platform":"linux","shell":"bash"}}}}"#,
                    self.cwd
                ),
            ),
            (
                "date",
                format!(r#"{{"type":"date","date":"{}"}}"#, self.clock.date_naive()),
            ),
            (
                "prompt_snapshot",
                format!(r#"{{"type":"prompt_snapshot","systemPrompt":["{snapshot}"]}}"#),
            ),
        ] {
            let (parent, uuid) = self.next_uuid(rng);
            let line = format!(
                r#"{{"parentUuid":"{parent}","isSidechain":{},{}"attachment":{body},"type":"attachment","uuid":"{uuid}","timestamp":"{at}","rendered":[{{"content":"<system-reminder>\n{kind}\n</system-reminder>"}}],"renderedRole":"system",{}}}"#,
                self.sidechain,
                self.agent_field,
                self.common()
            );
            self.line(&line)?;
        }
        Ok(())
    }

    fn usage(&mut self, rng: &mut Rng) -> Usage {
        let cache_write = rng.log_uniform(200, 25_000);
        let usage = Usage {
            input: rng.range(1, 40),
            cache_write,
            cache_read: self.context,
            output: rng.log_uniform(20, 6_000),
        };
        self.context = (self.context + cache_write + usage.output).min(180_000);
        usage
    }

    /// The client's record of what it sent: the one place `max_tokens` appears.
    fn api_request(&mut self, rng: &mut Rng, at: &str, query_source: &str) -> io::Result<String> {
        let id = rng.uuid();
        if rng.chance(0.5) {
            let line = format!(
                r#"{{"type":"api-request-blob",{}"sessionId":"{}","hash":"{}","message":"[omitted]"}}"#,
                self.agent_field,
                self.session,
                rng.hex(64)
            );
            self.line(&line)?;
        }
        let line = format!(
            r#"{{"type":"api-request","sessionId":"{}",{}"id":"{id}","timestamp":"{at}","version":"{VERSION}","querySource":"{query_source}","shapeHash":"{}","params":{{"model":"{}","betas":["claude-code-20250219","effort-2025-11-24"],"max_tokens":{},"thinking":{{"type":"adaptive","display":"omitted"}},"anthropic_beta":["interleaved-thinking-2025-05-14"],"output_config":{{"effort":"medium"}}}},"keep":0,"tail":["{}","{}"],"cacheControl":[{{"path":["system",0],"value":{{"type":"ephemeral"}}}}],"requestDigest":"{}"}}"#,
            self.session,
            self.agent_field,
            rng.hex(64),
            self.model,
            self.max_tokens,
            rng.hex(64),
            rng.hex(64),
            rng.hex(64)
        );
        self.line(&line)?;
        Ok(id)
    }

    /// One request and its response. `tool` names the tool the response calls (its result
    /// follows as a user line unless `result` is `None`), or `None` for a turn's last answer.
    /// Returns the usage and the tool_use id.
    pub fn request(
        &mut self,
        rng: &mut Rng,
        tool: Option<&str>,
        result: Option<usize>,
    ) -> io::Result<(Sent, String)> {
        let query_source = if self.sidechain {
            "agent:builtin:general-purpose"
        } else {
            "repl_main_thread"
        };
        let at = self.tick(rng, 1_500, 20_000);
        let reference = self.api_request(rng, &at, query_source)?;
        let usage = self.usage(rng);
        let request_id = format!("req_bdrk_{}", rng.hex(24));
        let message_id = format!("msg_bdrk_{}", rng.hex(24));
        let tool_id = format!("toolu_bdrk_{}", rng.hex(24));
        // The client writes one entry per content block, each with the final usage.
        let mut blocks = Vec::new();
        if rng.chance(0.4) {
            blocks.push(format!(
                r#"{{"type":"thinking","thinking":"","signature":"{}"}}"#,
                rng.hex(344)
            ));
        }
        if tool.is_none() || rng.chance(0.5) {
            let len = rng.log_uniform(20, 3_000) as usize;
            blocks.push(format!(
                r#"{{"type":"text","text":"{}"}}"#,
                self.pool.slice(rng, len)
            ));
        }
        if let Some(name) = tool {
            let len = rng.log_uniform(30, 4_000) as usize;
            let input = match name {
                "Agent" => format!(
                    r#"{{"description":"explore","prompt":"{}","subagent_type":"general-purpose"}}"#,
                    self.pool.slice(rng, len)
                ),
                "Edit" | "Write" => format!(
                    r#"{{"file_path":"{}/src/lib.rs","old_string":"{}","new_string":"{}"}}"#,
                    self.cwd,
                    self.pool.slice(rng, len / 2),
                    self.pool.slice(rng, len / 2)
                ),
                "Read" => format!(r#"{{"file_path":"{}/src/main.rs"}}"#, self.cwd),
                _ => format!(
                    r#"{{"command":"{}","description":"run it"}}"#,
                    self.pool.slice(rng, len.min(400))
                ),
            };
            blocks.push(format!(
                r#"{{"type":"tool_use","id":"{tool_id}","name":"{name}","input":{input}}}"#
            ));
        }
        let stop_reason = if tool.is_some() {
            "tool_use"
        } else {
            "end_turn"
        };
        for (index, block) in blocks.iter().enumerate() {
            let (parent, uuid) = self.next_uuid(rng);
            let line = format!(
                r#"{{"parentUuid":"{parent}","isSidechain":{},{}"message":{{"id":"{message_id}","type":"message","role":"assistant","model":"{}","content":[{block}],"stop_reason":"{stop_reason}","stop_sequence":null,"usage":{{"input_tokens":{},"cache_creation_input_tokens":{},"cache_read_input_tokens":{},"output_tokens":{},"output_tokens_details":{{"thinking_tokens":0}},"server_tool_use":{{"web_search_requests":0,"web_fetch_requests":0}},"service_tier":"standard","cache_creation":{{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":{}}},"inference_geo":"","iterations":[],"speed":"standard"}},"stop_details":null}},"apiBlockIndex":{index},"requestId":"{request_id}","requestRef":"{reference}","requestedModel":"{}","promptCacheRequested":"5m","type":"assistant","uuid":"{uuid}","timestamp":"{}","effort":"medium","madeBy":"model",{}}}"#,
                self.sidechain,
                self.agent_field,
                self.model,
                usage.input,
                usage.cache_write,
                usage.cache_read,
                usage.output,
                usage.cache_write,
                self.model,
                ts(self.clock + Duration::milliseconds(400 + index as i64 * 3)),
                self.common()
            );
            self.line(&line)?;
        }
        if tool.is_some() {
            let line = format!(
                r#"{{"type":"tools-used","tools":["{}"],"sessionId":"{}"}}"#,
                tool.unwrap_or_default(),
                self.session
            );
            self.line(&line)?;
        }
        if let Some(len) = result {
            self.tool_result(rng, &tool_id, len)?;
        }
        Ok((
            Sent {
                model: self.model,
                usage,
            },
            tool_id,
        ))
    }

    /// The user line carrying a tool's output, twice (as the client writes it): in the
    /// message and in `toolUseResult`.
    pub fn tool_result(&mut self, rng: &mut Rng, tool_id: &str, len: usize) -> io::Result<()> {
        let at = self.tick(rng, 50, 8_000);
        let text = self.pool.slice(rng, len.min(self.result_cap));
        let (parent, uuid) = self.next_uuid(rng);
        let line = format!(
            r#"{{"parentUuid":"{parent}","isSidechain":{},"promptId":"{}",{}"type":"user","message":{{"role":"user","content":[{{"tool_use_id":"{tool_id}","type":"tool_result","content":"{text}","is_error":false}}]}},"uuid":"{uuid}","timestamp":"{at}","toolUseResult":{{"stdout":"{text}","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false}},"sandboxed":false,"sourceToolAssistantUUID":"{parent}",{}}}"#,
            self.sidechain,
            self.prompt_id,
            self.agent_field,
            self.common()
        );
        self.line(&line)?;
        if rng.chance(0.15) {
            let (parent, uuid) = self.next_uuid(rng);
            let line = format!(
                r#"{{"parentUuid":"{parent}","isSidechain":{},{}"attachment":{{"type":"todo_reminder","content":[],"itemCount":0}},"type":"attachment","uuid":"{uuid}","timestamp":"{at}",{}}}"#,
                self.sidechain,
                self.agent_field,
                self.common()
            );
            self.line(&line)?;
        }
        Ok(())
    }

    /// A request that failed (a throttle): the client writes its own error message.
    pub fn failed_request(&mut self, rng: &mut Rng) -> io::Result<()> {
        let at = self.tick(rng, 1_000, 5_000);
        self.api_request(rng, &at, "repl_main_thread")?;
        let (parent, uuid) = self.next_uuid(rng);
        let line = format!(
            r#"{{"parentUuid":"{parent}","isSidechain":{},{}"message":{{"id":"{}","type":"message","role":"assistant","model":"<synthetic>","content":[{{"type":"text","text":"API Error: Too many tokens, please wait before trying again."}}],"stop_reason":"stop_sequence","usage":{{"input_tokens":0,"output_tokens":0}}}},"isApiErrorMessage":true,"type":"assistant","uuid":"{uuid}","timestamp":"{at}",{}}}"#,
            self.sidechain,
            self.agent_field,
            rng.uuid(),
            self.common()
        );
        self.line(&line)
    }

    /// End of a turn: the stop hook summary, and the session's running totals by model.
    pub fn end_turn(
        &mut self,
        rng: &mut Rng,
        totals: &BTreeMap<&'static str, Usage>,
        started_ms: i64,
    ) -> io::Result<()> {
        let at = self.tick(rng, 20, 300);
        let (parent, uuid) = self.next_uuid(rng);
        let line = format!(
            r#"{{"parentUuid":"{parent}","isSidechain":false,"type":"system","subtype":"stop_hook_summary","hookCount":1,"hookInfos":[{{"command":"bedrock-hook hook","durationMs":3}}],"hookErrors":[],"preventedContinuation":false,"stopReason":"","hasOutput":false,"level":"suggestion","timestamp":"{at}","uuid":"{uuid}",{}}}"#,
            self.common()
        );
        self.line(&line)?;
        let mut models = Vec::new();
        let mut cost = 0.0;
        for (model, u) in totals {
            let model_cost = (u.input + u.cache_write) as f64 * 5e-6
                + u.cache_read as f64 * 5e-7
                + u.output as f64 * 2.5e-5;
            cost += model_cost;
            models.push(format!(
                r#""{model}":{{"inputTokens":{},"outputTokens":{},"thinkingTokens":0,"cacheReadInputTokens":{},"cacheCreationInputTokens":{},"cacheCreationEphemeral5mInputTokens":{},"cacheCreationEphemeral1hInputTokens":0,"webSearchRequests":0,"costUSD":{model_cost:.6}}}"#,
                u.input, u.output, u.cache_read, u.cache_write, u.cache_write
            ));
        }
        let line = format!(
            r#"{{"type":"cost-state","sessionId":"{}","totalCostUSD":{cost:.6},"totalAPIDuration":{},"totalLinesAdded":{},"totalLinesRemoved":{},"totalDuration":{},"startTime":{started_ms},"modelUsage":{{{}}},"hasUnknownModelCost":false}}"#,
            self.session,
            rng.range(1_000, 900_000),
            rng.range(0, 500),
            rng.range(0, 200),
            self.clock.timestamp_millis() - started_ms,
            models.join(",")
        );
        self.line(&line)
    }
}

/// What one session should look like.
pub struct SessionPlan {
    pub id: String,
    pub cwd: String,
    pub start: DateTime<Utc>,
    pub target_bytes: u64,
    pub model: (&'static str, u64),
}

/// Where a session's transcript lives under a Claude config dir.
pub fn session_path(config_dir: &Path, cwd: &str, session: &str) -> PathBuf {
    let project: String = cwd
        .chars()
        .map(|c| if c == '/' || c == '.' { '-' } else { c })
        .collect();
    config_dir
        .join("projects")
        .join(project)
        .join(format!("{session}.jsonl"))
}

/// How many requests a session made and how many bytes it wrote (subagents included).
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub requests: u64,
    pub subagents: u64,
    pub bytes: u64,
}

/// Write one whole session: turns of requests until it reaches its target size.
pub fn write_session(
    config_dir: &Path,
    plan: &SessionPlan,
    pool: &TextPool,
    rng: &mut Rng,
) -> io::Result<Written> {
    let path = session_path(config_dir, &plan.cwd, &plan.id);
    let mut main = Stream::open(
        &path, &plan.id, None, &plan.cwd, plan.start, plan.model, pool, rng,
    )?;
    let started_ms = plan.start.timestamp_millis();
    let mut totals: BTreeMap<&'static str, Usage> = BTreeMap::new();
    let mut written = Written::default();
    let mut sub_bytes = 0u64;
    let mut turn = 0;
    while main.bytes + sub_bytes < plan.target_bytes || turn == 0 {
        turn += 1;
        if turn > 1 {
            main.clock += Duration::seconds(rng.log_uniform(30, 1_200) as i64);
        }
        let len = rng.log_uniform(10, 2_000) as usize;
        let prompt = pool.slice(rng, len);
        main.prompt(rng, &prompt)?;
        // Title generation and the like: side requests only cost-state shows.
        if turn == 1 || rng.chance(0.3) {
            totals.entry(SIDE_MODEL).or_default().add(&Usage {
                input: rng.range(200, 2_000),
                output: rng.range(5, 60),
                ..Usage::default()
            });
        }
        let requests = rng.range(1, 14);
        for n in 0..requests {
            if rng.chance(0.01) {
                main.failed_request(rng)?;
            }
            // Reaching the target ends the turn, so sessions do not overshoot it.
            let last = n + 1 == requests || main.bytes + sub_bytes >= plan.target_bytes;
            if last {
                let (sent, _) = main.request(rng, None, None)?;
                totals.entry(sent.model).or_default().add(&sent.usage);
                written.requests += 1;
                break;
            }
            let tool = *rng.pick(&["Bash", "Bash", "Read", "Read", "Edit", "Grep", "Agent"]);
            if tool == "Agent" && rng.chance(0.6) {
                let (sent, tool_id) = main.request(rng, Some("Agent"), None)?;
                totals.entry(sent.model).or_default().add(&sent.usage);
                written.requests += 1;
                let sub = write_subagent(&path, &main, pool, rng, &mut totals)?;
                main.clock = main.clock.max(sub.1);
                sub_bytes += sub.0.bytes;
                written.requests += sub.0.requests;
                written.subagents += 1;
                let len = rng.log_uniform(200, 8_000) as usize;
                main.tool_result(rng, &tool_id, len)?;
                continue;
            }
            let len = tool_result_len(rng, main.result_cap);
            let (sent, _) = main.request(rng, Some(tool), Some(len))?;
            totals.entry(sent.model).or_default().add(&sent.usage);
            written.requests += 1;
        }
        main.end_turn(rng, &totals, started_ms)?;
    }
    let finished = main.bytes;
    main.finish()?;
    written.bytes = finished + sub_bytes;
    Ok(written)
}

/// A subagent's transcript: a few requests on its own model. Returns what it wrote and
/// when it finished.
fn write_subagent(
    main_path: &Path,
    main: &Stream<'_>,
    pool: &TextPool,
    rng: &mut Rng,
    totals: &mut BTreeMap<&'static str, Usage>,
) -> io::Result<(Written, DateTime<Utc>)> {
    let agent = rng.hex(17);
    let path = main_path
        .with_extension("")
        .join("subagents")
        .join(format!("agent-{agent}.jsonl"));
    let model = if rng.chance(0.5) {
        (main.model, main.max_tokens)
    } else {
        MODELS[1]
    };
    let mut sub = Stream::open(
        &path,
        &main.session,
        Some(&agent),
        &main.cwd,
        main.clock,
        model,
        pool,
        rng,
    )?;
    let len = rng.log_uniform(50, 1_500) as usize;
    let prompt = pool.slice(rng, len);
    sub.prompt(rng, &prompt)?;
    let mut written = Written::default();
    let requests = rng.range(2, 12);
    for n in 0..requests {
        let (sent, _) = if n + 1 == requests {
            sub.request(rng, None, None)?
        } else {
            let tool = *rng.pick(&["Bash", "Read", "Grep"]);
            let len = tool_result_len(rng, sub.result_cap);
            sub.request(rng, Some(tool), Some(len))?
        };
        totals.entry(sent.model).or_default().add(&sent.usage);
        written.requests += 1;
    }
    written.bytes = sub.bytes;
    let finished_at = sub.clock;
    sub.finish()?;
    Ok((written, finished_at))
}
