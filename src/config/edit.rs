//! Writing quotas into the config file for `quota import` and `quota calibrate`, keeping
//! everything else in it as the user wrote it: other keys, comments, order, layout
//! (`toml_edit`). The default bucket is the top-level `tpd`/`tpm`/`rpm`; a model's bucket
//! is `[models.<name>]`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use toml_edit::{DocumentMut, Item, Table, value};

use crate::files;
use crate::quota::Limit;

/// The `bucket` of a [`QuotaValue`] that is the top-level `tpd_all_models` (the
/// account-wide cap on all models together) rather than a bucket's own quota.
pub const ALL_MODELS: &str = "*";

/// The key a value is written under in its table.
fn key_of(bucket: &str, limit: Limit) -> &'static str {
    if bucket == ALL_MODELS {
        "tpd_all_models"
    } else {
        limit.key()
    }
}

/// One quota to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaValue {
    /// `""` for the default bucket, else the `models` key.
    pub bucket: String,
    pub limit: Limit,
    pub value: u64,
}

/// One key that changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaChange {
    pub bucket: String,
    pub limit: Limit,
    pub old: Option<i64>,
    pub new: u64,
}

impl QuotaChange {
    /// `tpd` or `[models.claude-sonnet-4] tpm`.
    pub fn key(&self) -> String {
        if self.bucket.is_empty() || self.bucket == ALL_MODELS {
            key_of(&self.bucket, self.limit).to_string()
        } else {
            format!("[models.{}] {}", self.bucket, self.limit.key())
        }
    }

    pub fn describe(&self) -> String {
        let old = self
            .old
            .map_or_else(|| "(unset)".to_string(), |n| n.to_string());
        format!("{}: {old} -> {}", self.key(), self.new)
    }
}

/// Apply `values` to the TOML `text`; returns the new text and what changed.
pub fn set_quotas(text: &str, values: &[QuotaValue]) -> Result<(String, Vec<QuotaChange>)> {
    let mut doc: DocumentMut = text.parse().context("the config file is not valid TOML")?;
    let mut changes = Vec::new();
    for v in values {
        let table = if v.bucket.is_empty() || v.bucket == ALL_MODELS {
            doc.as_table_mut()
        } else {
            model_table(&mut doc, &v.bucket)?
        };
        let key = key_of(&v.bucket, v.limit);
        let old = table.get(key).and_then(Item::as_integer);
        if old == Some(v.value as i64) {
            continue;
        }
        match table.get_mut(key).and_then(Item::as_value_mut) {
            // Keep the comment and spacing around the old value.
            Some(existing) => {
                let decor = existing.decor().clone();
                *existing = toml_edit::Value::from(v.value as i64);
                *existing.decor_mut() = decor;
            }
            None => table[key] = value(v.value as i64),
        }
        changes.push(QuotaChange {
            bucket: v.bucket.clone(),
            limit: v.limit,
            old,
            new: v.value,
        });
    }
    Ok((doc.to_string(), changes))
}

fn model_table<'d>(doc: &'d mut DocumentMut, bucket: &str) -> Result<&'d mut Table> {
    let models = doc.entry("models").or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    let Some(models) = models.as_table_mut() else {
        bail!("`models` in the config file is not a table");
    };
    let entry = models
        .entry(bucket)
        .or_insert_with(|| Item::Table(Table::new()));
    match entry.as_table_mut() {
        Some(table) => Ok(table),
        None => bail!("`models.{bucket}` in the config file is not a table"),
    }
}

/// Read the config file (missing: empty), apply `values`, and unless `dry_run` write it
/// back atomically with its permissions kept. Returns what changed.
pub fn write_quotas(path: &Path, values: &[QuotaValue], dry_run: bool) -> Result<Vec<QuotaChange>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let (new_text, changes) =
        set_quotas(&text, values).with_context(|| format!("in {}", path.display()))?;
    if dry_run || changes.is_empty() {
        return Ok(changes);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        files::ensure_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    files::rewrite_user_file(path, new_text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn q(bucket: &str, limit: Limit, value: u64) -> QuotaValue {
        QuotaValue {
            bucket: bucket.to_string(),
            limit,
            value,
        }
    }

    #[test]
    fn keeps_comments_and_other_keys() {
        let text = "# my quotas\nmode = \"block\" # loud\ntpd = 5 # account\n\n[burndown]\n\"claude-opus-5\" = 12\n";
        let (out, changes) = set_quotas(
            text,
            &[
                q("", Limit::TokensPerDay, 10_000_000),
                q("claude-sonnet-4", Limit::TokensPerMinute, 2_000_000),
                q("claude-sonnet-4", Limit::RequestsPerMinute, 200),
            ],
        )
        .unwrap();
        assert!(
            out.starts_with("# my quotas\nmode = \"block\" # loud\ntpd = 10000000 # account\n"),
            "{out}"
        );
        assert!(
            out.contains("[burndown]\n\"claude-opus-5\" = 12\n"),
            "{out}"
        );
        assert!(
            out.contains("[models.claude-sonnet-4]\ntpm = 2000000\nrpm = 200\n"),
            "{out}"
        );
        assert!(!out.contains("[models]\n"), "{out}");
        assert_eq!(changes.len(), 3);
        assert_eq!(changes[0].describe(), "tpd: 5 -> 10000000");
        assert_eq!(
            changes[1].describe(),
            "[models.claude-sonnet-4] tpm: (unset) -> 2000000"
        );
        // The result loads as the config it describes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &out).unwrap();
        let config = Config::load_with(Some(&path), |_| None);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert_eq!(config.quotas_for("claude-sonnet-4").tpm, Some(2_000_000));
        assert_eq!(config.quotas_for("claude-sonnet-4").tpd, Some(10_000_000));
    }

    #[test]
    fn unchanged_values_are_not_changes_and_bad_files_are_refused() {
        let (_, changes) = set_quotas(
            "[models.claude-haiku-4-5]\ntpd = 7\n",
            &[q("claude-haiku-4-5", Limit::TokensPerDay, 7)],
        )
        .unwrap();
        assert!(changes.is_empty());
        assert!(set_quotas("models = 3\n", &[q("m", Limit::TokensPerDay, 1)]).is_err());
        assert!(set_quotas("tpd = [\n", &[q("", Limit::TokensPerDay, 1)]).is_err());
    }

    #[test]
    fn write_creates_the_file_and_dry_run_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let values = [q("", Limit::TokensPerMinute, 400_000)];
        let changes = write_quotas(&path, &values, true).unwrap();
        assert_eq!(changes.len(), 1);
        assert!(!path.exists());
        write_quotas(&path, &values, false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "tpm = 400000\n");
    }
}
