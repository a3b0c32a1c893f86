//! The edit itself, on the parsed document: add or update our hook entries and status
//! line (`install`), or take them out again (`uninstall`). Everything that is not ours keeps
//! its place and its value; keys are removed with `shift_remove` so order never moves.

use serde_json::{Map, Value, json};
use thiserror::Error;

use super::ours::{self, StatusCommand};

/// The events bedrock-hook listens to, and whether Claude Code matches them by tool name.
/// Tool events get `"matcher": "*"`; the others take no matcher (which matches everything).
pub const EVENTS: [(&str, bool); 14] = [
    ("SessionStart", false),
    ("UserPromptSubmit", false),
    ("PreToolUse", true),
    ("PostToolUse", true),
    ("PostToolUseFailure", true),
    ("PostToolBatch", false),
    ("PermissionDenied", true),
    ("Stop", false),
    ("StopFailure", false),
    ("SubagentStart", false),
    ("SubagentStop", false),
    ("PreCompact", false),
    ("PostCompact", false),
    ("SessionEnd", false),
];

/// Seconds Claude Code gives our hook before killing it. The hook waits at most 3 s for
/// the ledger lock and normally takes milliseconds.
pub const HOOK_TIMEOUT_SECS: u64 = 10;

/// Shapes we will not guess about: the user fixes them, we change nothing.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MergeError {
    #[error("\"hooks\" is not an object; fix it by hand, nothing was changed")]
    HooksNotObject,
    #[error("\"hooks\".\"{0}\" is not a list; fix it by hand, nothing was changed")]
    EventNotList(String),
}

/// What an edit did, for the user.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Events that got our entry.
    pub added: Vec<String>,
    /// Events whose entry now points at a different binary.
    pub updated: Vec<String>,
    /// Events our entries were taken out of (uninstall; duplicates and retired events on install).
    pub removed: Vec<String>,
    pub status: StatusChange,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub enum StatusChange {
    #[default]
    Unchanged,
    /// There was none: ours is set.
    Added,
    /// There was the user's: ours runs it with `--chain`.
    Wrapped(String),
    /// Ours, pointing at a different binary now.
    Updated,
    /// Uninstall put the user's command back.
    Restored(String),
    /// Uninstall removed ours (there was none before).
    Removed,
    /// Not touched, for the reason given.
    LeftAlone(String),
}

/// Add bedrock-hook's hooks and status line for the binary at `bin`.
pub fn install(settings: &mut Map<String, Value>, bin: &str) -> Result<Report, MergeError> {
    check_shape(settings)?;
    let mut report = Report::default();
    let command = ours::hook_command(bin);
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or(MergeError::HooksNotObject)?;
    let retired: Vec<String> = hooks
        .keys()
        .filter(|event| !EVENTS.iter().any(|(known, _)| known == event))
        .cloned()
        .collect();
    for event in retired {
        remove_ours_from_event(hooks, &event, None, &mut report);
    }
    for (event, by_tool) in EVENTS {
        let groups = hooks
            .entry(event)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| MergeError::EventNotList(event.to_string()))?;
        match first_ours(groups) {
            Some((group, hook)) => {
                let current = &mut groups[group]["hooks"][hook]["command"];
                // Variables the user set in front of ours stay.
                let prefix = ours::env_prefix(current.as_str().unwrap_or_default()).to_string();
                let wanted = format!("{prefix}{command}");
                if current.as_str() != Some(wanted.as_str()) {
                    *current = Value::String(wanted);
                    report.updated.push(event.to_string());
                }
                remove_ours_from_event(hooks, event, Some((group, hook)), &mut report);
            }
            None => {
                groups.push(our_group(&command, by_tool));
                report.added.push(event.to_string());
            }
        }
    }
    report.status = install_status_line(settings, bin);
    Ok(report)
}

/// Only the status line: for plugin users, whose hooks come from the plugin.
pub fn install_status_line_only(settings: &mut Map<String, Value>, bin: &str) -> Report {
    Report {
        status: install_status_line(settings, bin),
        ..Report::default()
    }
}

/// Take out every bedrock-hook hook, and restore (or remove) the status line.
pub fn uninstall(settings: &mut Map<String, Value>) -> Result<Report, MergeError> {
    check_shape(settings)?;
    let mut report = Report::default();
    if let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) {
        let events: Vec<String> = hooks.keys().cloned().collect();
        for event in events {
            remove_ours_from_event(hooks, &event, None, &mut report);
        }
        if hooks.is_empty() && !report.removed.is_empty() {
            settings.shift_remove("hooks");
        }
    }
    report.status = uninstall_status_line(settings);
    Ok(report)
}

fn check_shape(settings: &Map<String, Value>) -> Result<(), MergeError> {
    let Some(hooks) = settings.get("hooks") else {
        return Ok(());
    };
    let hooks = hooks.as_object().ok_or(MergeError::HooksNotObject)?;
    for (event, groups) in hooks {
        if !groups.is_array() {
            return Err(MergeError::EventNotList(event.clone()));
        }
    }
    Ok(())
}

fn our_group(command: &str, by_tool: bool) -> Value {
    let hook = json!({"type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECS});
    if by_tool {
        json!({"matcher": "*", "hooks": [hook]})
    } else {
        json!({"hooks": [hook]})
    }
}

fn is_our_hook(hook: &Value) -> bool {
    hook.get("command")
        .and_then(Value::as_str)
        .is_some_and(ours::is_hook_command)
}

/// Position (group, hook) of the first of our hooks in an event's list.
fn first_ours(groups: &[Value]) -> Option<(usize, usize)> {
    groups.iter().enumerate().find_map(|(g, group)| {
        let hooks = group.get("hooks")?.as_array()?;
        hooks.iter().position(is_our_hook).map(|h| (g, h))
    })
}

/// Remove our hooks from `event` except the one at `keep`. A group or event list that
/// only held ours goes too; one that was already empty stays.
fn remove_ours_from_event(
    hooks: &mut Map<String, Value>,
    event: &str,
    keep: Option<(usize, usize)>,
    report: &mut Report,
) {
    let Some(groups) = hooks.get_mut(event).and_then(Value::as_array_mut) else {
        return;
    };
    let mut removed = 0;
    let mut emptied = Vec::new();
    for (g, group) in groups.iter_mut().enumerate() {
        let Some(list) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
            continue;
        };
        let before = list.len();
        let mut index = 0;
        list.retain(|hook| {
            let drop = is_our_hook(hook) && keep != Some((g, index));
            index += 1;
            !drop
        });
        if list.len() < before {
            removed += before - list.len();
            if list.is_empty() {
                emptied.push(g);
            }
        }
    }
    for g in emptied.into_iter().rev() {
        groups.remove(g);
    }
    if removed > 0 {
        if groups.is_empty() {
            hooks.shift_remove(event);
        }
        report.removed.push(event.to_string());
    }
}

fn install_status_line(settings: &mut Map<String, Value>, bin: &str) -> StatusChange {
    let Some(status) = settings.get_mut("statusLine") else {
        settings.insert(
            "statusLine".into(),
            json!({"type": "command", "command": ours::status_command(bin, None), "padding": 0}),
        );
        return StatusChange::Added;
    };
    let Some(command) = status.get_mut("command").filter(|c| c.is_string()) else {
        return StatusChange::LeftAlone(
            "\"statusLine\" has no command; left as it is (add bedrock-hook statusline by hand)"
                .into(),
        );
    };
    let current = command.as_str().unwrap_or_default().to_string();
    let (wanted, change) = match ours::classify_status(&current) {
        StatusCommand::Theirs => (
            ours::status_command(bin, Some(&current)),
            StatusChange::Wrapped(current.clone()),
        ),
        StatusCommand::Ours { chained } => (
            ours::status_command(bin, chained.as_deref()),
            StatusChange::Updated,
        ),
        StatusCommand::OursUnreadable => {
            return StatusChange::LeftAlone(
                "it already runs bedrock-hook with arguments install does not write; left as it is"
                    .into(),
            );
        }
    };
    if wanted == current {
        return StatusChange::Unchanged;
    }
    *command = Value::String(wanted);
    change
}

fn uninstall_status_line(settings: &mut Map<String, Value>) -> StatusChange {
    let Some(command) = settings
        .get_mut("statusLine")
        .and_then(|s| s.get_mut("command"))
        .filter(|c| c.is_string())
    else {
        return StatusChange::Unchanged;
    };
    match ours::classify_status(command.as_str().unwrap_or_default()) {
        StatusCommand::Theirs => StatusChange::Unchanged,
        StatusCommand::Ours {
            chained: Some(theirs),
        } => {
            *command = Value::String(theirs.clone());
            StatusChange::Restored(theirs)
        }
        StatusCommand::Ours { chained: None } => {
            settings.shift_remove("statusLine");
            StatusChange::Removed
        }
        StatusCommand::OursUnreadable => StatusChange::LeftAlone(
            "it runs bedrock-hook with arguments uninstall cannot read back; remove it by hand"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIN: &str = "/opt/bh/bedrock-hook";

    fn doc(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    fn text(map: &Map<String, Value>) -> String {
        serde_json::to_string(map).unwrap()
    }

    fn events(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn all_events() -> Vec<String> {
        EVENTS.iter().map(|(e, _)| e.to_string()).collect()
    }

    #[test]
    fn empty_settings_get_every_event_and_a_status_line() {
        let mut settings = Map::new();
        let report = install(&mut settings, BIN).unwrap();
        assert_eq!(report.added, all_events());
        assert_eq!(report.status, StatusChange::Added);
        let hooks = settings["hooks"].as_object().unwrap();
        assert_eq!(hooks.keys().cloned().collect::<Vec<_>>(), all_events());
        assert_eq!(
            hooks["PreToolUse"],
            json!([{"matcher": "*", "hooks": [
                {"type": "command", "command": "/opt/bh/bedrock-hook hook", "timeout": 10}]}])
        );
        assert_eq!(
            hooks["Stop"],
            json!([{"hooks": [
                {"type": "command", "command": "/opt/bh/bedrock-hook hook", "timeout": 10}]}])
        );
        assert_eq!(
            settings["statusLine"],
            json!({"type": "command", "command": "/opt/bh/bedrock-hook statusline", "padding": 0})
        );
    }

    #[test]
    fn other_hooks_keep_their_place_and_ours_go_last() {
        let before = r#"{"model":"opus","hooks":{"Stop":[{"hooks":[{"type":"command","command":"notify-send done"}]}],
            "PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"guard.sh","timeout":5}]}],
            "Notification":[{"hooks":[{"type":"command","command":"bell"}]}]},"env":{"A":"1"}}"#;
        let mut settings = doc(before);
        install(&mut settings, BIN).unwrap();
        let keys: Vec<_> = settings.keys().cloned().collect();
        assert_eq!(keys, ["model", "hooks", "env", "statusLine"]);
        let hooks = settings["hooks"].as_object().unwrap();
        let order: Vec<_> = hooks.keys().map(String::as_str).collect();
        assert_eq!(
            &order[..3],
            ["Stop", "PreToolUse", "Notification"],
            "existing events first, in their order"
        );
        assert_eq!(hooks["PreToolUse"][0]["matcher"], "Bash");
        assert_eq!(hooks["PreToolUse"][0]["hooks"][0]["command"], "guard.sh");
        assert_eq!(hooks["PreToolUse"][1]["matcher"], "*");
        assert_eq!(hooks["Stop"][0]["hooks"][0]["command"], "notify-send done");
        assert_eq!(
            hooks["Stop"][1]["hooks"][0]["command"],
            "/opt/bh/bedrock-hook hook"
        );
        assert_eq!(hooks["Notification"].as_array().unwrap().len(), 1);

        let report = uninstall(&mut settings).unwrap();
        assert_eq!(report.removed.len(), EVENTS.len());
        assert_eq!(report.status, StatusChange::Removed);
        assert_eq!(text(&settings), text(&doc(before)));
    }

    #[test]
    fn second_install_changes_nothing() {
        let mut settings =
            doc(r#"{"statusLine":{"type":"command","command":"starship statusline"}}"#);
        install(&mut settings, BIN).unwrap();
        let once = text(&settings);
        let report = install(&mut settings, BIN).unwrap();
        assert_eq!(text(&settings), once);
        assert_eq!(
            report,
            Report {
                status: StatusChange::Unchanged,
                ..Report::default()
            }
        );
    }

    #[test]
    fn moved_binary_is_updated_in_place() {
        let mut settings = Map::new();
        install(&mut settings, "/old/place/bedrock-hook").unwrap();
        settings["hooks"]["Stop"][0]["hooks"][0]["timeout"] = json!(30);
        let report = install(&mut settings, BIN).unwrap();
        assert_eq!(report.updated, all_events());
        assert!(report.added.is_empty());
        assert_eq!(report.status, StatusChange::Updated);
        let stop = &settings["hooks"]["Stop"];
        assert_eq!(stop.as_array().unwrap().len(), 1);
        assert_eq!(stop[0]["hooks"][0]["command"], "/opt/bh/bedrock-hook hook");
        assert_eq!(
            stop[0]["hooks"][0]["timeout"], 30,
            "the user's timeout stays"
        );
        assert_eq!(
            settings["statusLine"]["command"],
            "/opt/bh/bedrock-hook statusline"
        );
    }

    #[test]
    fn duplicates_and_retired_events_are_cleaned_up() {
        let mut settings = doc(r#"{"hooks":{
              "Stop":[{"hooks":[{"type":"command","command":"bedrock-hook hook"}]},
                      {"hooks":[{"type":"command","command":"mine"},{"type":"command","command":"/x/bedrock-hook hook"}]}],
              "PermissionRequest":[{"hooks":[{"type":"command","command":"/x/bedrock-hook hook"}]}]}}"#);
        let report = install(&mut settings, BIN).unwrap();
        assert_eq!(report.removed, events(&["PermissionRequest", "Stop"]));
        let hooks = settings["hooks"].as_object().unwrap();
        assert!(!hooks.contains_key("PermissionRequest"));
        assert_eq!(
            hooks["Stop"],
            json!([{"hooks":[{"type":"command","command":"/opt/bh/bedrock-hook hook"}]},
                   {"hooks":[{"type":"command","command":"mine"}]}])
        );
    }

    #[test]
    fn their_status_line_is_wrapped_once_and_restored_whole() {
        let theirs = r#"bash -c 'printf "%s" "$(git branch --show-current)"'"#;
        let before = json!({"statusLine": {"type": "command", "command": theirs, "padding": 2}});
        let mut settings = before.as_object().unwrap().clone();
        let report = install(&mut settings, BIN).unwrap();
        assert_eq!(report.status, StatusChange::Wrapped(theirs.to_string()));
        let wrapped = settings["statusLine"]["command"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(wrapped.starts_with("/opt/bh/bedrock-hook statusline --chain '"));
        assert_eq!(settings["statusLine"]["padding"], 2);
        install(&mut settings, BIN).unwrap();
        assert_eq!(settings["statusLine"]["command"], wrapped.as_str());
        let report = uninstall(&mut settings).unwrap();
        assert_eq!(report.status, StatusChange::Restored(theirs.to_string()));
        settings.shift_remove("hooks");
        assert_eq!(Value::Object(settings), before);
    }

    #[test]
    fn odd_status_lines_are_left_alone() {
        for odd in [
            r#"{"statusLine":null}"#,
            r#"{"statusLine":{"type":"command"}}"#,
            r#"{"statusLine":{"type":"command","command":"bedrock-hook statusline --chain $(x)"}}"#,
        ] {
            let mut settings = doc(odd);
            let report = install(&mut settings, BIN).unwrap();
            assert!(matches!(report.status, StatusChange::LeftAlone(_)), "{odd}");
            assert_eq!(settings["statusLine"], doc(odd)["statusLine"]);
        }
    }

    #[test]
    fn what_the_user_added_after_install_keeps_its_order_on_uninstall() {
        let mut settings = Map::new();
        install(&mut settings, BIN).unwrap();
        let group = json!([{"hooks": [{"type": "command", "command": "theirs"}]}]);
        let hooks = settings["hooks"].as_object_mut().unwrap();
        hooks.insert("PermissionRequest".into(), group.clone());
        hooks.insert("Notification".into(), group);
        settings.insert("theme".into(), json!("dark"));
        settings.insert("model".into(), json!("opus"));
        uninstall(&mut settings).unwrap();
        assert_eq!(
            text(&settings),
            r#"{"hooks":{"PermissionRequest":[{"hooks":[{"type":"command","command":"theirs"}]}],"Notification":[{"hooks":[{"type":"command","command":"theirs"}]}]},"theme":"dark","model":"opus"}"#
        );
    }

    #[test]
    fn status_line_only_leaves_hooks_alone() {
        let before = r#"{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"x"}]}]}}"#;
        let mut settings = doc(before);
        let report = install_status_line_only(&mut settings, BIN);
        assert_eq!(report.status, StatusChange::Added);
        assert!(report.added.is_empty());
        settings.shift_remove("statusLine");
        assert_eq!(text(&settings), text(&doc(before)));
    }

    #[test]
    fn uninstall_without_us_changes_nothing() {
        let before = r#"{"hooks":{"Stop":[]},"statusLine":{"type":"command","command":"x"}}"#;
        let mut settings = doc(before);
        let report = uninstall(&mut settings).unwrap();
        assert_eq!(report, Report::default());
        assert_eq!(text(&settings), text(&doc(before)));
    }

    #[test]
    fn shapes_we_do_not_understand_are_refused_untouched() {
        let mut settings = doc(r#"{"hooks":[]}"#);
        assert_eq!(install(&mut settings, BIN), Err(MergeError::HooksNotObject));
        let mut settings = doc(r#"{"hooks":{"Notification":{"x":1}}}"#);
        assert_eq!(
            uninstall(&mut settings),
            Err(MergeError::EventNotList("Notification".into()))
        );
        assert_eq!(text(&settings), r#"{"hooks":{"Notification":{"x":1}}}"#);
    }
}
