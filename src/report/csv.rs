//! `--csv`: one row per ledger record in the range, for spreadsheets. Fields are quoted
//! per RFC 4180 where needed; control characters are dropped from text fields.

use std::fmt::Write as _;

use crate::ledger::{Kind, MaxTokensSource, Outcome, Record};

pub const HEADER: &str = "kind,id,ts,end_ts,session,agent,project,model,model_norm,burndown,\
input_tokens,cache_write_tokens,cache_read_tokens,output_tokens,max_tokens,max_tokens_source,\
reserved_tokens,quota_tokens,outcome,query_source,throttle_limit";

/// The header line and one line per record, each ending in `\r\n` (RFC 4180).
pub fn render(records: &[Record]) -> String {
    let mut out = String::with_capacity(128 * (records.len() + 1));
    out.push_str(HEADER);
    out.push_str("\r\n");
    for r in records {
        let fields: [String; 21] = [
            kind(r.kind).to_string(),
            field(&r.id),
            r.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            r.end_ts
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
            field(&r.session),
            field(r.agent.as_deref().unwrap_or("")),
            field(r.project.as_deref().unwrap_or("")),
            field(&r.model),
            field(&r.model_norm),
            r.burndown.to_string(),
            r.input.to_string(),
            r.cache_write.to_string(),
            r.cache_read.to_string(),
            r.output.to_string(),
            r.max_tokens.map(|m| m.to_string()).unwrap_or_default(),
            source(r.max_tokens_source).to_string(),
            r.reserved.to_string(),
            r.settled.to_string(),
            outcome(r.outcome).to_string(),
            field(r.query_source.as_deref().unwrap_or("")),
            field(
                r.throttle
                    .as_ref()
                    .map_or("", |t| t.limit.map_or("unknown", |l| l.as_str())),
            ),
        ];
        let _ = write!(out, "{}\r\n", fields.join(","));
    }
    out
}

fn kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Request => "request",
        Kind::Side => "side",
        Kind::Throttle => "throttle",
    }
}

fn source(source: MaxTokensSource) -> &'static str {
    match source {
        MaxTokensSource::ApiRequest => "api-request",
        MaxTokensSource::Env => "env",
        MaxTokensSource::ModelDefault => "model-default",
        MaxTokensSource::Unknown => "unknown",
    }
}

fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::NoResponse => "no-response",
    }
}

/// A text field: cleaned like everything printed (`terminal::clean`: control characters and
/// bidirectional overrides dropped), quoted when it holds `,` or `"`.
fn field(text: &str) -> String {
    let clean = crate::terminal::clean(text);
    if clean.contains([',', '"']) {
        format!("\"{}\"", clean.replace('"', "\"\""))
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_cleans() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("x\ny\x1b"), "xy");
    }

    #[test]
    fn one_row_per_record_with_the_header_columns() {
        let record: Record = serde_json::from_str(
            r#"{"v":1,"kind":"request","id":"req-0","ts":"2026-11-22T01:39:20.827Z","end_ts":"2026-11-22T01:39:20.900Z","session":"s","model":"us.anthropic.claude-opus-5-5","model_norm":"claude-opus-5-5","burndown":10.0,"input":12306,"cache_write":0,"cache_read":0,"output":37,"max_tokens":128000,"max_tokens_source":"api-request","reserved":1292306,"settled":12676,"outcome":"ok","project":"/home/dev/my,proj"}"#,
        )
        .unwrap();
        let out = render(&[record]);
        let lines: Vec<&str> = out.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].split(',').count(), 21);
        assert_eq!(
            lines[1],
            "request,req-0,2026-11-22T01:39:20.827Z,2026-11-22T01:39:20.900Z,s,,\"/home/dev/my,proj\",\
us.anthropic.claude-opus-5-5,claude-opus-5-5,10,12306,0,0,37,128000,api-request,1292306,12676,ok,,"
        );
    }
}
