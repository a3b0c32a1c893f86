//! Everything bedrock-hook remembers: the append-only ledger of requests, and the live
//! state summarising "now" for the hot paths.

mod bounded;
pub mod converge;
pub mod history;
pub mod live;
pub mod notes;
pub mod record;
pub mod store;

pub use live::LiveState;
pub use record::{Kind, MaxTokensSource, Outcome, Record, ThrottleInfo};
pub use store::{Entry, Ledger, LedgerLock};
