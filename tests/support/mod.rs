//! The harness every integration test uses: a temp [`Home`] to run the built binary in
//! (`home.rs`), the samples and fixture ledgers, transcript and payload builders
//! (`lines.rs`), the skip rule for a missing real component (`skip.rs`), and the real
//! client (`client.rs`) against a local Bedrock endpoint (`endpoint.rs`).
#![allow(dead_code)]

pub mod client;
pub mod endpoint;
pub mod home;
pub mod lines;
pub mod skip;

// What a test binary does not use of these is no warning: each uses its own part.
#[allow(unused_imports)]
pub use home::{
    AGENT, BIN, Home, SAMPLE_NOW, SESSION, assert_quiet_success, assert_says, day_files,
    files_under, fixtures, json_of, lay_out_samples, read_ledger, read_ledger_lenient, run_bounded,
    samples, spawn_fed, stdout_of,
};
#[allow(unused_imports)]
pub use skip::skipped;
