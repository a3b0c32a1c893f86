//! What only a session's totals (`cost-state`) show: side requests and compactions, after
//! the session's subagents are recorded (their requests are in the same totals).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::ledger::record::ChargedModel;
use crate::ledger::{Kind, Record};
use crate::quota::{self, Usage};
use crate::transcript::{self, Compaction, Cursor};

use super::{HOOK_READ, Origin, ReadOpts, Writer, parse_ts};

impl Writer<'_> {
    pub(super) fn ingest_subagents(
        &mut self,
        files: &[PathBuf],
        session: &str,
        origin: &Origin,
    ) -> io::Result<()> {
        for path in files {
            if self.read_to_end.contains(path) {
                continue;
            }
            let agent = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.strip_prefix("agent-"))
                .map(str::to_string);
            let sub_origin = Origin {
                session: Some(session.to_string()),
                agent,
                project: origin.project.clone(),
            };
            let opts = ReadOpts {
                drain: true,
                ..HOOK_READ
            };
            self.ingest(path, &sub_origin, opts)?;
        }
        Ok(())
    }

    /// Usage of the requests recorded from a session's subagent transcripts, by model.
    pub(super) fn subagent_usage(&mut self, files: &[PathBuf]) -> BTreeMap<String, Usage> {
        let mut recorded: BTreeMap<String, Usage> = BTreeMap::new();
        for path in files {
            for (model, usage) in &self.cursor(path).emitted {
                recorded.entry(model.clone()).or_default().add(usage);
            }
        }
        recorded
    }

    /// Side requests: what `cost-state` says the session used beyond its request records
    /// (those of the main transcript, in `cursor`, and of its subagents). The compactions
    /// since the last totals take their model's part first, as request records.
    pub(super) fn side_records(
        &self,
        cursor: &mut Cursor,
        session: &str,
        cost_state: &BTreeMap<String, Usage>,
        subagents: &BTreeMap<String, Usage>,
        origin: &Origin,
        compactions: Vec<Compaction>,
    ) -> Vec<Record> {
        let mut recorded = cursor.emitted.clone();
        for (model, usage) in subagents {
            recorded.entry(model.clone()).or_default().add(usage);
        }
        let ts = cursor
            .assembler
            .last_ts
            .as_deref()
            .and_then(parse_ts)
            .unwrap_or(self.now);
        let mut sides: Vec<(&String, quota::ModelName, Usage)> = cost_state
            .iter()
            .map(|(model, total)| {
                let name = quota::normalize(model, &self.config.profiles);
                let accounted = recorded.get(&name.canonical).copied().unwrap_or_default();
                let already = cursor
                    .side_emitted
                    .get(&name.canonical)
                    .copied()
                    .unwrap_or_default();
                let side = total.saturating_sub(&accounted).saturating_sub(&already);
                (model, name, side)
            })
            .collect();
        let mut records = self.compaction_records(cursor, session, &mut sides, compactions, origin);
        for (model, name, side) in sides {
            if side.is_zero() {
                continue;
            }
            cursor
                .side_emitted
                .entry(name.canonical.clone())
                .or_default()
                .add(&side);
            cursor.side_count += 1;
            let burndown = quota::burndown_for(&name, &self.config.burndown);
            let settled = quota::settled(&side, burndown.rate);
            let charged = ChargedModel {
                model: model.clone(),
                model_norm: name.canonical.clone(),
                burndown: burndown.rate,
                burndown_assumed: burndown.assumed,
            };
            let id = format!("{session}:{}:{}", name.canonical, cursor.side_count);
            records.push(Record {
                // Their max_tokens is unknown: held at what they settled for.
                reserved: settled,
                settled,
                project: origin.project.clone(),
                ..Record::new(Kind::Side, id, ts, session.to_string(), charged).with_usage(&side)
            });
        }
        records
    }

    /// One request record per compaction, with its model's part of what the totals hold
    /// beyond the records (`sides`, taken out of it: not a side request too). Compactions of
    /// one model between two totals share it evenly.
    pub(super) fn compaction_records(
        &self,
        cursor: &mut Cursor,
        session: &str,
        sides: &mut [(&String, quota::ModelName, Usage)],
        compactions: Vec<Compaction>,
        origin: &Origin,
    ) -> Vec<Record> {
        let mut by_model: BTreeMap<String, (String, Vec<Compaction>)> = BTreeMap::new();
        for compaction in compactions {
            // Without an api-request seen: the model the totals grew most on.
            let model = compaction.model.clone().or_else(|| {
                sides
                    .iter()
                    .max_by_key(|(_, _, side)| side.input + side.cache_write + side.output)
                    .filter(|(_, _, side)| !side.is_zero())
                    .map(|(model, _, _)| (*model).clone())
            });
            let model = model.unwrap_or_else(|| "unknown".to_string());
            let name = quota::normalize(&model, &self.config.profiles);
            by_model
                .entry(name.canonical)
                .or_insert_with(|| (model, Vec::new()))
                .1
                .push(compaction);
        }
        let mut records = Vec::new();
        for (canonical, (model, group)) in by_model {
            let share = sides
                .iter_mut()
                .find(|(_, name, _)| name.canonical == canonical)
                .map(|(_, _, side)| std::mem::take(side))
                .unwrap_or_default();
            cursor.emitted.entry(canonical).or_default().add(&share);
            let n = group.len() as u64;
            for (i, compaction) in group.into_iter().enumerate() {
                let part = share_of(&share, n, i as u64);
                records.push(
                    self.maker
                        .compaction(&compaction, &model, &part, session, origin),
                );
            }
        }
        records
    }
}

/// The `i`-th of `n` even parts of `usage` (the last takes what does not divide).
pub(super) fn share_of(usage: &Usage, n: u64, i: u64) -> Usage {
    let part = |total: u64| {
        let each = total / n.max(1);
        if i + 1 == n {
            total - each * (n - 1)
        } else {
            each
        }
    };
    Usage {
        input: part(usage.input),
        cache_write: part(usage.cache_write),
        cache_read: part(usage.cache_read),
        output: part(usage.output),
    }
}

pub(super) fn subagent_files(main: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(transcript::subagents_dir(main)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}
