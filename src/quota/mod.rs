//! The quota model: pure functions from token counts, model ids and config to what Bedrock
//! reserves and charges. No I/O here, so every rule is unit-tested in isolation.

pub mod advice;
pub mod burndown;
pub mod formula;
pub mod inflight;
pub mod limit;
pub mod model_id;
pub mod tokens;
pub mod window;

pub use burndown::{Burndown, burndown_for, default_max_tokens};
pub use formula::{Multiplier, ReservationRule, Usage, reservation, settled};
pub use limit::{Buckets, Limit, Quotas};
pub use model_id::{ModelName, normalize};
pub use window::DayBoundary;
