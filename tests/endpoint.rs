//! The fake Bedrock endpoint's own checks (tests/support/endpoint.rs): its event-stream
//! frames decode with an independent CRC, its default script answers each scenario as
//! documented, and it serves, logs and stops as the end-to-end tests rely on. Here, in one
//! test binary, rather than in every binary that uses the harness.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use support::endpoint::*;

/// Independent decoder: bitwise CRC32 (IEEE, reflected) so the check does not reuse crc32fast.
fn crc32_ref(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Decode one frame; returns (headers, payload, bytes consumed).
fn decode_frame(buf: &[u8]) -> (HashMap<String, String>, Vec<u8>, usize) {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let total = be32(&buf[0..4]) as usize;
    let hlen = be32(&buf[4..8]) as usize;
    assert_eq!(be32(&buf[8..12]), crc32_ref(&buf[0..8]), "prelude crc");
    assert_eq!(
        be32(&buf[total - 4..total]),
        crc32_ref(&buf[0..total - 4]),
        "message crc"
    );
    let mut headers = HashMap::new();
    let mut i = 12;
    while i < 12 + hlen {
        let nl = buf[i] as usize;
        let name = String::from_utf8(buf[i + 1..i + 1 + nl].to_vec()).unwrap();
        i += 1 + nl;
        assert_eq!(buf[i], 7, "string header type");
        let vl = u16::from_be_bytes([buf[i + 1], buf[i + 2]]) as usize;
        let value = String::from_utf8(buf[i + 3..i + 3 + vl].to_vec()).unwrap();
        i += 3 + vl;
        headers.insert(name, value);
    }
    assert_eq!(i, 12 + hlen);
    (headers, buf[12 + hlen..total - 4].to_vec(), total)
}

/// The Anthropic stream event a chunk frame's payload carries (base64 in `bytes`).
fn event_of(payload: &[u8]) -> Value {
    let p: Value = serde_json::from_slice(payload).unwrap();
    let inner = base64::engine::general_purpose::STANDARD
        .decode(p["bytes"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&inner).unwrap()
}

/// A main-loop request body (Bash offered) with `prompt` as the user's message.
fn main_loop_body(max_tokens: u64, prompt: &str) -> String {
    json!({"max_tokens": max_tokens, "tools": [{"name": "Bash"}],
        "messages": [{"role": "user", "content": prompt}]})
    .to_string()
}

#[test]
fn crc_reference_matches_known_vector() {
    assert_eq!(crc32_ref(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
}

#[test]
fn frame_roundtrip_and_crcs() {
    let ev = json!({"type": "message_stop"});
    let f = chunk_frame(&ev);
    let (h, payload, used) = decode_frame(&f);
    assert_eq!(used, f.len());
    assert_eq!(h[":event-type"], "chunk");
    assert_eq!(h[":content-type"], "application/json");
    assert_eq!(h[":message-type"], "event");
    assert_eq!(event_of(&payload), ev);
}

#[test]
fn empty_frame_layout() {
    let f = encode_frame(&[], b"");
    assert_eq!(f.len(), 16);
    assert_eq!(&f[0..4], &16u32.to_be_bytes());
    assert_eq!(&f[4..8], &0u32.to_be_bytes());
    decode_frame(&f);
}

#[test]
fn corrupt_frame_fails_crc() {
    let mut f = chunk_frame(&json!({"type": "ping"}));
    let n = f.len();
    f[n - 6] ^= 0x01;
    let r = std::panic::catch_unwind(|| decode_frame(&f));
    assert!(r.is_err());
}

#[test]
fn split_stream_events_have_three_blocks() {
    let blocks = vec![
        json!({"type": "thinking", "thinking": "hmm", "signature": "s"}),
        json!({"type": "text", "text": "hi"}),
        json!({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "echo"}}),
    ];
    let ev = stream_events("msg_1", "m", &blocks, Usage::new(1, 2, 3, 4), "tool_use");
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"message_start"));
    assert_eq!(
        types.iter().filter(|t| **t == "content_block_stop").count(),
        3
    );
    assert_eq!(
        &types[types.len() - 2..],
        &["message_delta", "message_stop"]
    );
    assert_eq!(ev[0]["message"]["usage"]["cache_creation_input_tokens"], 2);
    assert_eq!(ev[ev.len() - 2]["usage"]["output_tokens"], 4);
}

#[test]
fn model_and_user_text() {
    assert_eq!(
        model_from_path("/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream")
            .as_deref(),
        Some("us.anthropic.claude-opus-5-5")
    );
    assert_eq!(
        model_from_path("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile%2Fabc/invoke")
            .as_deref(),
        Some("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc")
    );
    assert_eq!(model_from_path("/inference-profiles?x=1"), None);
    let body = json!({"messages": [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "out"}]},
            {"type": "text", "text": "more"}
        ]}
    ]});
    assert_eq!(last_user_text(&body), ("out\nmore".to_string(), true));
}

fn req(path: &str, body: Value) -> Request {
    let model = model_from_path(path);
    let streaming = path.ends_with("/invoke-with-response-stream");
    let (last_user_text, last_user_has_tool_result) = last_user_text(&body);
    Request {
        index: 0,
        method: "POST".into(),
        path: path.into(),
        model,
        headers: vec![],
        max_tokens: body.get("max_tokens").and_then(Value::as_u64),
        body,
        streaming,
        last_user_text,
        last_user_has_tool_result,
    }
}

#[test]
fn default_script_decisions() {
    const S: &str = "/model/m/invoke-with-response-stream";
    let main = |content: Value, tools: Value| json!({"tools": tools, "messages": [{"role": "user", "content": content}]});
    let bash = json!([{"name": "Bash"}, {"name": "Agent"}]);
    let kind = |r: Reply| match r {
        Reply::Text { text, .. } => format!("text:{text}"),
        Reply::ToolUse { name, thinking, .. } => format!("tool:{name}:{}", thinking.is_some()),
        Reply::Throttle { .. } => "throttle".into(),
        Reply::Error { status, .. } => format!("error:{status}"),
        Reply::Json { .. } => "json".into(),
        Reply::Delayed(_, r) | Reply::Paced(_, r) => {
            format!("later:{:?}", r).chars().take(20).collect()
        }
    };
    let ds = |p: &str, b: Value| kind(default_script(&req(p, b)));
    for (prompt, want) in [
        ("hi", "text:Hello from the fake endpoint."),
        ("SCENARIO_TOOL", "tool:Bash:false"),
        ("SCENARIO_AGENT", "tool:Agent:false"),
        ("SCENARIO_AGENT_THROTTLE", "tool:Agent:false"),
        ("SCENARIO_THROTTLE", "throttle"),
    ] {
        assert_eq!(ds(S, main(json!(prompt), bash.clone())), want, "{prompt}");
    }
    assert!(ds(S, main(json!("SCENARIO_SPLIT"), bash.clone())).starts_with("later:ToolUse"));
    let tr = json!([{"type": "tool_result", "tool_use_id": "t", "content": "hello-from-fake"}]);
    assert_eq!(ds(S, main(tr.clone(), bash.clone())), "text:Done.");
    let sub = json!([{"name": "Bash"}, {"name": "SubagentHandback"}]);
    assert_eq!(ds(S, main(tr, sub)), "tool:SubagentHandback:false");
    // title generation: streaming without tools; probes: /invoke
    assert_eq!(
        ds(S, main(json!("SCENARIO_THROTTLE"), json!([]))),
        "text:Fake title"
    );
    assert_eq!(
        ds(
            "/model/m/invoke",
            json!({"max_tokens": 1, "messages": [{"role": "user", "content": "."}]})
        ),
        "text:Fake title"
    );
    let cls =
        json!({"stop_sequences": ["</severity>"], "messages": [{"role": "user", "content": "x"}]});
    assert_eq!(ds("/model/m/invoke", cls), "text:<severity>5</severity>");
    assert_eq!(
        ds("/inference-profiles?type=SYSTEM_DEFINED", Value::Null),
        "error:404"
    );
}

#[test]
fn wait_for_and_drop() {
    let ep = Endpoint::start(|_| Reply::text("x"));
    let url = ep.url();
    assert!(!ep.wait_for(Duration::from_millis(50), |r| !r.is_empty()));
    let (st, h, _) = http(&url, "/model/m/invoke", "{}", false);
    assert_eq!(st, 200);
    assert!(h.contains_key("x-amzn-requestid"));
    assert!(ep.wait_for(Duration::from_secs(1), |r| r.len() == 1));
    drop(ep);
    thread::sleep(Duration::from_millis(50));
    assert!(TcpStream::connect(url.trim_start_matches("http://")).is_err());
}

fn http(
    url: &str,
    path: &str,
    body: &str,
    chunked: bool,
) -> (u16, HashMap<String, String>, Vec<u8>) {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let req = if chunked {
        let half = body.len() / 2;
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
            half,
            &body[..half],
            body.len() - half,
            &body[half..]
        )
    } else {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    s.write_all(req.as_bytes()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = all[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let e = i + body[i..].windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&body[i..e]).unwrap(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&body[e + 2..e + 2 + n]);
            i = e + 2 + n + 2;
        }
        body = out;
    }
    (status, headers, body)
}

#[test]
fn serves_stream_json_and_throttle() {
    let ep = Endpoint::start_default();
    let url = ep.url();
    let opus_stream = "/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream";
    let tool_body = main_loop_body(4096, "SCENARIO_SPLIT now");
    let (st, h, body) = http(&url, opus_stream, &tool_body, true);
    assert_eq!(st, 200);
    assert_eq!(h["content-type"], "application/vnd.amazon.eventstream");
    let mut i = 0;
    let mut types = Vec::new();
    while i < body.len() {
        let (_, payload, used) = decode_frame(&body[i..]);
        let ev = event_of(&payload);
        if ev["type"] == "content_block_start" {
            types.push(ev["content_block"]["type"].as_str().unwrap().to_string());
        }
        i += used;
    }
    assert_eq!(types, ["thinking", "text", "tool_use"]);

    let thr = main_loop_body(10, "SCENARIO_THROTTLE");
    let (st, h, body) = http(&url, "/model/m/invoke-with-response-stream", &thr, false);
    assert_eq!(st, 429);
    assert_eq!(h["x-amzn-errortype"], "ThrottlingException");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["message"],
        THROTTLE_MESSAGE
    );

    let (st, _, body) = http(
        &url,
        "/model/m/invoke",
        r#"{"max_tokens":1,"messages":[]}"#,
        false,
    );
    assert_eq!(st, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["type"],
        "message"
    );

    let log = ep.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].max_tokens, Some(4096));
    assert!(log[0].streaming);
    assert_eq!(log[1].status, 429);
    assert_eq!(log[2].model.as_deref(), Some("m"));
    assert!(!log[2].streaming);
    let ids: std::collections::HashSet<_> = log.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(h.get("x-amzn-requestid"), Some(&log[1].request_id));
}
