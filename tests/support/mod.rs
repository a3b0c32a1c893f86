//! Shared harness of the integration tests: the local Bedrock endpoint and the real client.
#![allow(dead_code)]

pub mod client;
pub mod endpoint;
pub mod fixture;
pub mod skip;
