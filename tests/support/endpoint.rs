//! A scripted fake Amazon Bedrock runtime endpoint for end-to-end tests.
//!
//! It serves just enough of the Bedrock runtime HTTP API for the Claude Code client
//! (`CLAUDE_CODE_USE_BEDROCK=1`, `ANTHROPIC_BEDROCK_BASE_URL=<url>`,
//! `CLAUDE_CODE_SKIP_BEDROCK_AUTH=1`) to run against it:
//!
//! - `POST /model/<model-id>/invoke-with-response-stream`: answered with AWS event-stream
//!   frames carrying Anthropic stream events (message_start, content_block_*,
//!   message_delta, message_stop).
//! - `POST /model/<model-id>/invoke`: answered with one JSON Anthropic message.
//! - anything else (e.g. `/inference-profiles...`): whatever the script says; the default
//!   script answers 404 ResourceNotFoundException, which the client accepts.
//!
//! Every response carries a unique `x-amzn-RequestId` header, and every request is logged
//! (see [`Endpoint::requests`]). Its own checks are tests/endpoint.rs.
//!
//! Dependencies: std, serde_json, base64, crc32fast. Plain threads, no async runtime.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

/// The message a Bedrock daily-token throttle carries.
pub const THROTTLE_MESSAGE: &str = "Too many tokens per day, please wait before trying again.";

// ---------------------------------------------------------------------------------------
// What the script sees
// ---------------------------------------------------------------------------------------

/// One HTTP request as the script sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// 0-based index of this request among all requests this endpoint received.
    pub index: usize,
    pub method: String,
    /// Path with query string, as sent (still percent-encoded).
    pub path: String,
    /// Model id from `/model/<id>/...`, percent-decoded; None for other paths.
    pub model: Option<String>,
    /// Lower-cased header names.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body (`Value::Null` if the body is empty or not JSON).
    pub body: Value,
    /// `max_tokens` from the body, if any.
    pub max_tokens: Option<u64>,
    /// True for `/invoke-with-response-stream`.
    pub streaming: bool,
    /// Text of the last `role: user` message: its text parts and the text inside its
    /// tool_result parts, joined with '\n'.
    pub last_user_text: String,
    /// True if the last user message contains at least one tool_result part.
    pub last_user_has_tool_result: bool,
}

impl Request {
    /// True for `/model/<id>/invoke` or `/model/<id>/invoke-with-response-stream`.
    pub fn is_invoke(&self) -> bool {
        self.model.is_some() && (self.path_only().ends_with("/invoke") || self.streaming)
    }
    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
    /// Names of the tools offered in the body (`tools[].name`).
    pub fn tool_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Token usage reported in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub cache_write: u64,
    pub cache_read: u64,
    pub output: u64,
}

impl Usage {
    pub const fn new(input: u64, cache_write: u64, cache_read: u64, output: u64) -> Usage {
        Usage {
            input,
            cache_write,
            cache_read,
            output,
        }
    }
}

impl Default for Usage {
    fn default() -> Usage {
        Usage::new(1000, 0, 0, 10)
    }
}

/// What the endpoint answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// One text block, stop_reason `end_turn`.
    Text { text: String, usage: Usage },
    /// Optional thinking block, optional text block, then one tool_use block,
    /// stop_reason `tool_use`. With thinking and text set the response has 3 content blocks.
    ToolUse {
        thinking: Option<String>,
        text: Option<String>,
        name: String,
        input: Value,
        usage: Usage,
    },
    /// HTTP 429, `x-amzn-ErrorType: ThrottlingException`, body `{"message": ...}`.
    Throttle { message: String },
    /// Any other Bedrock-style error: HTTP `status`, `x-amzn-ErrorType: <error_type>`,
    /// body `{"message": ...}`.
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
    /// An arbitrary JSON answer.
    Json { status: u16, body: Value },
    /// Wait, then send the inner reply (the request is logged when the reply is sent).
    Delayed(Duration, Box<Reply>),
    /// Send the inner reply's stream frames with `gap` between frames (streaming only),
    /// as a real model does, so the client sees content blocks before message_delta.
    Paced(Duration, Box<Reply>),
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text {
            text: text.into(),
            usage: Usage::default(),
        }
    }
    pub fn tool_use(name: impl Into<String>, input: Value) -> Reply {
        Reply::ToolUse {
            thinking: None,
            text: None,
            name: name.into(),
            input,
            usage: Usage::default(),
        }
    }
    /// A Bash tool_use running `command`.
    pub fn bash(command: impl Into<String>) -> Reply {
        Reply::tool_use(
            "Bash",
            json!({"command": command.into(), "description": "run command"}),
        )
    }
    /// An `Agent` tool_use spawning a subagent of `subagent_type` with `prompt`.
    pub fn agent(subagent_type: &str, description: &str, prompt: &str) -> Reply {
        Reply::tool_use(
            "Agent",
            json!({"description": description, "prompt": prompt, "subagent_type": subagent_type}),
        )
    }
    pub fn throttle() -> Reply {
        Reply::Throttle {
            message: THROTTLE_MESSAGE.to_string(),
        }
    }
    /// Replace the usage of a Text or ToolUse reply (no effect on others).
    pub fn with_usage(mut self, u: Usage) -> Reply {
        match &mut self {
            Reply::Text { usage, .. } | Reply::ToolUse { usage, .. } => *usage = u,
            Reply::Delayed(_, inner) | Reply::Paced(_, inner) => {
                let r = std::mem::replace(inner.as_mut(), Reply::throttle());
                **inner = r.with_usage(u);
            }
            _ => {}
        }
        self
    }
    /// Prefix a ToolUse reply with a thinking block and a text block (no effect on others).
    pub fn with_preamble(mut self, think: impl Into<String>, say: impl Into<String>) -> Reply {
        match &mut self {
            Reply::ToolUse { thinking, text, .. } => {
                *thinking = Some(think.into());
                *text = Some(say.into());
            }
            Reply::Delayed(_, inner) | Reply::Paced(_, inner) => {
                let r = std::mem::replace(inner.as_mut(), Reply::throttle());
                **inner = r.with_preamble(think, say);
            }
            _ => {}
        }
        self
    }
    pub fn delayed(self, d: Duration) -> Reply {
        Reply::Delayed(d, Box::new(self))
    }
    /// Stream the frames with `gap` between them.
    pub fn paced(self, gap: Duration) -> Reply {
        Reply::Paced(gap, Box::new(self))
    }
}

/// One request as logged by the endpoint, with what it answered.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub index: usize,
    pub method: String,
    pub path: String,
    pub model: Option<String>,
    pub max_tokens: Option<u64>,
    pub streaming: bool,
    /// HTTP status returned.
    pub status: u16,
    /// `x-amzn-RequestId` returned.
    pub request_id: String,
    /// When the request was fully read.
    pub timestamp: SystemTime,
    pub last_user_text: String,
    /// The parsed request body.
    pub body: Value,
}

impl LoggedRequest {
    /// Milliseconds since the Unix epoch of `timestamp`.
    pub fn timestamp_ms(&self) -> u128 {
        self.timestamp
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// The default script
// ---------------------------------------------------------------------------------------

/// Usage numbers the default script reports (distinct, easy to spot in transcripts).
pub const DEFAULT_TEXT_USAGE: Usage = Usage::new(1200, 300, 4000, 7);
pub const DEFAULT_TOOL_USAGE: Usage = Usage::new(1100, 200, 5000, 37);
pub const DEFAULT_SPLIT_USAGE: Usage = Usage::new(1300, 100, 6000, 91);
pub const DEFAULT_AGENT_USAGE: Usage = Usage::new(1000, 0, 3000, 45);

/// A script reacting to markers in the last user message, for main-loop requests
/// (streaming requests that offer tools). Anything else (title generation, probes,
/// non-streaming `/invoke`) gets a short text; non-model paths get a 404.
///
/// - interactive subagent (tools offer `SubagentHandback`) after its tool_result, or when
///   nagged with "[handback-send-enforce]"          -> SubagentHandback tool_use {"message": "Done."}
/// - last user message holds a tool_result            -> text "Done."
/// - `SCENARIO_THROTTLE`                               -> 429 ThrottlingException
/// - `SCENARIO_AGENT_THROTTLE`                         -> `Agent` tool_use whose subagent
///   prompt is "SUBTASK_Y SCENARIO_THROTTLE do it" (the subagent's first request gets a 429)
/// - `SCENARIO_AGENT`                                  -> `Agent` tool_use, general-purpose
///   subagent with prompt "SUBTASK_X SCENARIO_TOOL do it"
/// - `SCENARIO_SPLIT`                                  -> thinking + text + Bash tool_use
///   (`echo hello-from-split`), frames paced 100 ms apart like a real stream
/// - `SCENARIO_TOOL`                                   -> Bash tool_use `echo hello-from-fake`
/// - otherwise                                         -> text "Hello from the fake endpoint."
///
/// Interactive auto-mode classifier requests (see [`is_auto_mode_classifier`]) get
/// "<severity>5</severity>", i.e. allow.
pub fn default_script(req: &Request) -> Reply {
    if req.model.is_none() {
        return Reply::Error {
            status: 404,
            error_type: "ResourceNotFoundException".into(),
            message: format!("fake endpoint: no handler for {}", req.path_only()),
        };
    }
    let main_loop = req.streaming && !req.tool_names().is_empty();
    if is_auto_mode_classifier(req) {
        // Interactive auto mode asks us.anthropic.claude-sonnet-5 (non-streaming /invoke,
        // max_tokens 64, stop_sequences ["</severity>"]) for "<severity>N" (< 50 = allow).
        return Reply::text("<severity>5</severity>").with_usage(Usage::new(50, 0, 0, 3));
    }
    if !main_loop {
        return Reply::text("Fake title").with_usage(Usage::new(50, 0, 0, 3));
    }
    let t = &req.last_user_text;
    let handback = req.tool_names().iter().any(|n| n == "SubagentHandback");
    if handback && (req.last_user_has_tool_result || t.contains("[handback-send-enforce]")) {
        // Interactive subagents must end by calling SubagentHandback (else the client
        // nags them with "[handback-send-enforce]" messages).
        Reply::tool_use("SubagentHandback", json!({"message": "Done."}))
            .with_usage(DEFAULT_TEXT_USAGE)
    } else if req.last_user_has_tool_result {
        Reply::text("Done.").with_usage(DEFAULT_TEXT_USAGE)
    } else if t.contains("SCENARIO_THROTTLE") {
        Reply::throttle()
    } else if t.contains("SCENARIO_AGENT_THROTTLE") {
        Reply::agent(
            "general-purpose",
            "sub work",
            "SUBTASK_Y SCENARIO_THROTTLE do it",
        )
        .with_usage(DEFAULT_AGENT_USAGE)
    } else if t.contains("SCENARIO_AGENT") {
        Reply::agent(
            "general-purpose",
            "sub work",
            "SUBTASK_X SCENARIO_TOOL do it",
        )
        .with_usage(DEFAULT_AGENT_USAGE)
    } else if t.contains("SCENARIO_SPLIT") {
        Reply::tool_use(
            "Bash",
            json!({"command": "echo hello-from-split", "description": "say hello"}),
        )
        .with_preamble("Let me think about this.", "I will run a command.")
        .with_usage(DEFAULT_SPLIT_USAGE)
        .paced(Duration::from_millis(100))
    } else if t.contains("SCENARIO_TOOL") {
        Reply::tool_use(
            "Bash",
            json!({"command": "echo hello-from-fake", "description": "say hello"}),
        )
        .with_usage(DEFAULT_TOOL_USAGE)
    } else {
        Reply::text("Hello from the fake endpoint.").with_usage(DEFAULT_TEXT_USAGE)
    }
}

/// [`default_script`] with only the first main-loop `SCENARIO_THROTTLE` request throttled:
/// a resumed session still carries the throttled prompt, and its later requests are
/// answered as if the marker were not there.
pub fn throttle_once_script() -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let throttled = AtomicBool::new(false);
    move |req| {
        let main_loop = req.streaming && !req.tool_names().is_empty();
        if main_loop
            && req.last_user_text.contains("SCENARIO_THROTTLE")
            && !throttled.swap(true, Ordering::SeqCst)
        {
            return Reply::throttle();
        }
        let mut req = req.clone();
        req.last_user_text = req.last_user_text.replace("SCENARIO_THROTTLE", "");
        default_script(&req)
    }
}

/// True for the interactive auto-mode permission classifier's requests.
pub fn is_auto_mode_classifier(req: &Request) -> bool {
    let stops = req.body.get("stop_sequences").and_then(Value::as_array);
    stops.is_some_and(|a| a.iter().any(|v| v.as_str() == Some("</severity>")))
        || req.last_user_text.contains("<severity>")
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

type Script = dyn Fn(&Request) -> Reply + Send + Sync + 'static;

struct Shared {
    script: Box<Script>,
    log: Mutex<Vec<LoggedRequest>>,
    counter: AtomicUsize,
    stop: AtomicBool,
    port: u16,
    nonce: u64,
}

/// A running fake endpoint; stops (and closes its socket) on Drop.
pub struct Endpoint {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Endpoint {
    /// Bind 127.0.0.1 on a free port and serve in background threads.
    pub fn start(script: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ ((std::process::id() as u64) << 32);
        let shared = Arc::new(Shared {
            script: Box::new(script),
            log: Mutex::new(Vec::new()),
            counter: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            port: addr.port(),
            nonce,
        });
        let sh = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("fake-bedrock-accept".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if sh.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let sh2 = Arc::clone(&sh);
                    let _ = thread::Builder::new()
                        .name("fake-bedrock-conn".into())
                        .spawn(move || serve_connection(stream, &sh2));
                }
            })
            .expect("spawn acceptor");
        Endpoint {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Start with [`default_script`].
    pub fn start_default() -> Endpoint {
        Endpoint::start(default_script)
    }

    /// `http://127.0.0.1:<port>` (no trailing slash): the value for ANTHROPIC_BEDROCK_BASE_URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Poll [`Endpoint::requests`] every 20 ms until `pred` holds or `timeout` passes;
    /// returns whether it held.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&[LoggedRequest]) -> bool) -> bool {
        let end = std::time::Instant::now() + timeout;
        loop {
            if pred(&self.requests()) {
                return true;
            }
            if std::time::Instant::now() >= end {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// All requests answered so far (a request is logged once its reply is decided,
    /// before the reply is written), sorted by index.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        let mut v = self.shared.log.lock().unwrap().clone();
        v.sort_by_key(|r| r.index);
        v
    }

    /// Requests to `/model/.../invoke-with-response-stream` only.
    pub fn streaming_requests(&self) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.streaming)
            .collect()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

struct RawRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve_connection(stream: TcpStream, sh: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    loop {
        if sh.stop.load(Ordering::SeqCst) {
            return;
        }
        let raw = match read_request(&mut reader, &mut writer) {
            Ok(Some(r)) => r,
            _ => return,
        };
        let close = raw
            .headers
            .iter()
            .any(|(k, v)| k == "connection" && v.eq_ignore_ascii_case("close"));
        if handle(raw, &mut writer, sh).is_err() || close {
            return;
        }
    }
}

fn read_line(reader: &mut BufReader<TcpStream>) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = reader.read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    while buf.last() == Some(&b'\n') || buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<RawRequest>> {
    // Skip stray empty lines between keep-alive requests.
    let request_line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().ok_or_else(|| bad("no method"))?.to_string();
    let path = parts.next().ok_or_else(|| bad("no path"))?.to_string();
    let mut headers = Vec::new();
    loop {
        let l = read_line(reader)?.ok_or_else(|| bad("eof in headers"))?;
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let size_line = read_line(reader)?.ok_or_else(|| bad("eof in chunk size"))?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers until an empty line.
                loop {
                    match read_line(reader)? {
                        None => break,
                        Some(l) if l.is_empty() => break,
                        Some(_) => {}
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(RawRequest {
        method,
        path,
        headers,
        body,
    }))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Model id from a `/model/<id>/...` path (percent-decoded).
pub fn model_from_path(path: &str) -> Option<String> {
    let p = path.split('?').next()?;
    let rest = p.strip_prefix("/model/")?;
    let id = rest.rsplit_once('/').map(|(id, _)| id).unwrap_or(rest);
    if id.is_empty() {
        None
    } else {
        Some(percent_decode(id))
    }
}

fn text_of_content(content: &Value, out: &mut Vec<String>, has_tool_result: &mut bool) {
    match content {
        Value::String(s) => out.push(s.clone()),
        Value::Array(parts) => {
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            out.push(t.to_string());
                        }
                    }
                    Some("tool_result") => {
                        *has_tool_result = true;
                        if let Some(c) = p.get("content") {
                            let mut ignored = false;
                            text_of_content(c, out, &mut ignored);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// (text of the last user message, whether it holds a tool_result).
pub fn last_user_text(body: &Value) -> (String, bool) {
    let Some(msgs) = body.get("messages").and_then(Value::as_array) else {
        return (String::new(), false);
    };
    let Some(last) = msgs
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return (String::new(), false);
    };
    let mut out = Vec::new();
    let mut has = false;
    if let Some(c) = last.get("content") {
        text_of_content(c, &mut out, &mut has);
    }
    (out.join("\n"), has)
}

fn handle(raw: RawRequest, w: &mut TcpStream, sh: &Shared) -> io::Result<()> {
    let index = sh.counter.fetch_add(1, Ordering::SeqCst);
    let timestamp = SystemTime::now();
    let body: Value = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
    let model = model_from_path(&raw.path);
    let path_only = raw.path.split('?').next().unwrap_or("").to_string();
    let streaming = model.is_some() && path_only.ends_with("/invoke-with-response-stream");
    let (last_text, has_tr) = last_user_text(&body);
    let req = Request {
        index,
        method: raw.method,
        path: raw.path,
        model,
        headers: raw.headers,
        max_tokens: body.get("max_tokens").and_then(Value::as_u64),
        body,
        streaming,
        last_user_text: last_text,
        last_user_has_tool_result: has_tr,
    };
    let mut reply = (sh.script)(&req);
    let mut gap = Duration::ZERO;
    let reply = loop {
        reply = match reply {
            Reply::Delayed(d, inner) => {
                thread::sleep(d);
                *inner
            }
            Reply::Paced(g, inner) => {
                gap = g;
                *inner
            }
            r => break r,
        };
    };
    let request_id = make_uuid(sh.nonce, sh.port, index);
    let status = match &reply {
        Reply::Text { .. } | Reply::ToolUse { .. } => 200,
        Reply::Throttle { .. } => 429,
        Reply::Error { status, .. } | Reply::Json { status, .. } => *status,
        Reply::Delayed(..) | Reply::Paced(..) => unreachable!(),
    };
    sh.log.lock().unwrap().push(LoggedRequest {
        index,
        method: req.method.clone(),
        path: req.path.clone(),
        model: req.model.clone(),
        max_tokens: req.max_tokens,
        streaming: req.streaming,
        status,
        request_id: request_id.clone(),
        timestamp,
        last_user_text: req.last_user_text.clone(),
        body: req.body.clone(),
    });
    let model_name = req.model.clone().unwrap_or_else(|| "unknown".into());
    let msg_id = format!("msg_fake_{:x}_{}", sh.nonce & 0xffff_ffff, index);
    match reply {
        Reply::Text { .. } | Reply::ToolUse { .. } => {
            let blocks = content_blocks(&reply, sh, index);
            let usage = match &reply {
                Reply::Text { usage, .. } | Reply::ToolUse { usage, .. } => *usage,
                _ => unreachable!(),
            };
            let stop_reason = if matches!(reply, Reply::ToolUse { .. }) {
                "tool_use"
            } else {
                "end_turn"
            };
            if req.streaming {
                let events = stream_events(&msg_id, &model_name, &blocks, usage, stop_reason);
                write_stream(w, &request_id, &events, gap)
            } else {
                let msg = json!({
                    "id": msg_id, "type": "message", "role": "assistant", "model": model_name,
                    "content": blocks, "stop_reason": stop_reason, "stop_sequence": null,
                    "usage": usage_json(usage, usage.output),
                });
                write_simple(w, 200, &request_id, &[], &serde_json::to_vec(&msg).unwrap())
            }
        }
        Reply::Throttle { message } => write_simple(
            w,
            429,
            &request_id,
            &[("x-amzn-ErrorType", "ThrottlingException")],
            &serde_json::to_vec(&json!({ "message": message })).unwrap(),
        ),
        Reply::Error {
            status,
            error_type,
            message,
        } => write_simple(
            w,
            status,
            &request_id,
            &[("x-amzn-ErrorType", error_type.as_str())],
            &serde_json::to_vec(&json!({ "message": message })).unwrap(),
        ),
        Reply::Json { status, body } => write_simple(
            w,
            status,
            &request_id,
            &[],
            &serde_json::to_vec(&body).unwrap(),
        ),
        Reply::Delayed(..) | Reply::Paced(..) => unreachable!(),
    }
}

/// A UUID-shaped id, unique per endpoint instance and request.
fn make_uuid(nonce: u64, port: u16, index: usize) -> String {
    let a = nonce ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a as u16) & 0xfff,
        port & 0xfff,
        index as u64 & 0xffff_ffff_ffff
    )
}

fn content_blocks(reply: &Reply, sh: &Shared, index: usize) -> Vec<Value> {
    match reply {
        Reply::Text { text, .. } => vec![json!({"type": "text", "text": text})],
        Reply::ToolUse {
            thinking,
            text,
            name,
            input,
            ..
        } => {
            let mut v = Vec::new();
            if let Some(t) = thinking {
                v.push(json!({"type": "thinking", "thinking": t, "signature": "fake-signature"}));
            }
            if let Some(t) = text {
                v.push(json!({"type": "text", "text": t}));
            }
            v.push(json!({
                "type": "tool_use",
                "id": format!("toolu_fake_{:x}_{}", sh.nonce & 0xffff_ffff, index),
                "name": name,
                "input": input,
            }));
            v
        }
        _ => Vec::new(),
    }
}

fn usage_json(u: Usage, output: u64) -> Value {
    json!({
        "input_tokens": u.input,
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "output_tokens": output,
    })
}

/// The Anthropic stream events for one message made of `blocks`.
/// message_start reports output_tokens 1 (as the real API does); message_delta the total.
pub fn stream_events(
    msg_id: &str,
    model: &str,
    blocks: &[Value],
    usage: Usage,
    stop_reason: &str,
) -> Vec<Value> {
    let mut ev = Vec::new();
    ev.push(json!({
        "type": "message_start",
        "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": usage_json(usage, 1),
        }
    }));
    for (i, b) in blocks.iter().enumerate() {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => {
                ev.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}));
                ev.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": b["text"]}}));
            }
            Some("thinking") => {
                ev.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}));
                ev.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "thinking_delta", "thinking": b["thinking"]}}));
                ev.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "signature_delta", "signature": b["signature"]}}));
            }
            Some("tool_use") => {
                ev.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}));
                let partial = serde_json::to_string(&b["input"]).unwrap();
                ev.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": partial}}));
            }
            _ => continue,
        }
        ev.push(json!({"type": "content_block_stop", "index": i}));
    }
    ev.push(json!({
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": {"output_tokens": usage.output},
    }));
    ev.push(json!({
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": usage.input,
            "outputTokenCount": usage.output,
            "invocationLatency": 25,
            "firstByteLatency": 10,
            "cacheReadInputTokenCount": usage.cache_read,
            "cacheWriteInputTokenCount": usage.cache_write,
        }
    }));
    ev
}

/// One AWS event-stream frame: total length, headers length, prelude CRC, headers
/// (string-typed: name len u8, name, type 7, value len u16 BE, value), payload, message CRC.
pub fn encode_frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut hbytes = Vec::new();
    for (name, value) in headers {
        hbytes.push(name.len() as u8);
        hbytes.extend_from_slice(name.as_bytes());
        hbytes.push(7u8);
        hbytes.extend_from_slice(&(value.len() as u16).to_be_bytes());
        hbytes.extend_from_slice(value.as_bytes());
    }
    let total = 4 + 4 + 4 + hbytes.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(hbytes.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out[0..8]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hbytes);
    out.extend_from_slice(payload);
    let msg_crc = crc32fast::hash(&out);
    out.extend_from_slice(&msg_crc.to_be_bytes());
    out
}

/// The Bedrock `chunk` frame carrying one Anthropic stream event.
pub fn chunk_frame(event: &Value) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(event).unwrap());
    let payload = serde_json::to_vec(&json!({ "bytes": b64 })).unwrap();
    encode_frame(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        &payload,
    )
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_simple(
    w: &mut TcpStream,
    status: u16,
    request_id: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nx-amzn-RequestId: {}\r\nConnection: keep-alive\r\n",
        status,
        status_text(status),
        body.len(),
        request_id
    );
    for (k, v) in extra {
        head.push_str(&format!("{}: {}\r\n", k, v));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn write_stream(
    w: &mut TcpStream,
    request_id: &str,
    events: &[Value],
    gap: Duration,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\nTransfer-Encoding: chunked\r\nx-amzn-RequestId: {}\r\nx-amzn-bedrock-content-type: application/json\r\nConnection: keep-alive\r\n\r\n",
        request_id
    );
    w.write_all(head.as_bytes())?;
    for (i, ev) in events.iter().enumerate() {
        if i > 0 && !gap.is_zero() {
            thread::sleep(gap);
        }
        let frame = chunk_frame(ev);
        w.write_all(format!("{:x}\r\n", frame.len()).as_bytes())?;
        w.write_all(&frame)?;
        w.write_all(b"\r\n")?;
        w.flush()?;
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}
