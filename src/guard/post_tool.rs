//! PostToolUse (and PostToolUseFailure): the tool is done and Claude Code is about to
//! send the loop's next request. If that request will not fit, say so; in block mode stop
//! the loop (`continue: false`) rather than let it run into a 429 retry storm.

use super::{Concern, Point, Seen, preflight};

pub fn check(seen: &Seen<'_>) -> Option<Concern> {
    preflight::next_request_concern(Point::AfterTool, seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::ClientEnv;
    use crate::event::HookInput;
    use crate::guard::assess::tests::{config, now, state, with_inflight};
    use crate::guard::message;
    use crate::quota::Limit;

    #[test]
    fn a_subagent_stream_is_judged_on_its_own_next_request() {
        let input = HookInput::parse(
            br#"{"session_id":"s","agent_id":"a","hook_event_name":"PostToolUse","tool_name":"Bash"}"#,
        )
        .unwrap();
        // The main loop's request is in flight; the subagent's next one would overflow.
        let s = with_inflight(state(), "s", 1_292_000);
        let c = config(None, Some(2_500_000), None);
        let Some(Concern::WontFit(w)) =
            check(&Seen::new(&input, &s, &c, now(), &ClientEnv::default()))
        else {
            panic!("expected a concern");
        };
        assert_eq!(w.point, Point::AfterTool);
        assert_eq!(w.shortfall.limit, Limit::TokensPerMinute);
        assert_eq!(w.shortfall.used, 500_000 + 1_292_000);
        let text = message::text(&Concern::WontFit(w), true, &c, now());
        assert!(
            text.starts_with(
                "bedrock-hook paused the loop (not an error): the next request would not fit \
                 the TPM and Bedrock would throttle it (429). It reserves 1.29M"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "Left: TPD not set, 708k of 2.5M TPM; 1 request in flight holding 1.29M."
            ),
            "{text}"
        );
    }

    #[test]
    fn fits_means_silence() {
        let input =
            HookInput::parse(br#"{"session_id":"s","hook_event_name":"PostToolUse"}"#).unwrap();
        let c = config(Some(10_000_000), Some(2_500_000), None);
        assert_eq!(
            check(&Seen::new(
                &input,
                &state(),
                &c,
                now(),
                &ClientEnv::default()
            )),
            None
        );
    }
}
