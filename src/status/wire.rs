//! The status line input exactly as Claude Code sends it (docs/protocol.md §5).
//! Only what we use is read; everything is optional.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct StatusInput {
    pub session_id: Option<String>,
    pub transcript_path: Option<String>,
    pub cwd: Option<String>,
    pub model: Option<StatusModel>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusModel {
    /// As sent to Bedrock, e.g. `us.anthropic.claude-opus-5-5`.
    pub id: Option<String>,
    pub display_name: Option<String>,
}

impl StatusInput {
    pub fn model_id(&self) -> Option<&str> {
        self.model
            .as_ref()
            .and_then(|m| m.id.as_deref())
            .filter(|m| !m.is_empty())
    }
}
