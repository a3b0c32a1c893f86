//! A value as the user wrote it, in the config file (TOML) or in a `BEDROCK_HOOK_*`
//! variable (text), and the checks the keys in [`super::keys`] share: token counts,
//! quotas, percentages, booleans, and the `k=v,k=v` form tables take in the environment.

use std::collections::BTreeMap;

use crate::quota::tokens::parse_tokens;
use crate::quota::{Multiplier, Quotas};

/// A raw value before it is checked: from the TOML file or from an env variable.
pub(super) enum Raw<'a> {
    Toml(&'a toml::Value),
    Env(&'a str),
}

pub(super) fn as_str(raw: &Raw<'_>) -> Result<String, String> {
    match raw {
        Raw::Env(text) => Ok(text.to_string()),
        Raw::Toml(toml::Value::String(s)) => Ok(s.clone()),
        Raw::Toml(other) => Err(format!("expected a string, got {}", other.type_str())),
    }
}

pub(super) fn as_u64(raw: &Raw<'_>) -> Result<u64, String> {
    match raw {
        Raw::Toml(toml::Value::Integer(n)) if *n >= 0 => Ok(*n as u64),
        Raw::Toml(toml::Value::Integer(n)) => Err(format!("must not be negative, got {n}")),
        Raw::Toml(toml::Value::String(s)) => parse_tokens(s),
        Raw::Env(text) => parse_tokens(text),
        Raw::Toml(other) => Err(format!("expected a number, got {}", other.type_str())),
    }
}

/// A quota: a positive number, or 0 / "off" / "unset" for none.
pub(super) fn as_quota(raw: &Raw<'_>) -> Result<Option<u64>, String> {
    if let Ok(text) = as_str(raw)
        && matches!(
            text.trim().to_ascii_lowercase().as_str(),
            "off" | "unset" | "none"
        )
    {
        return Ok(None);
    }
    let n = as_u64(raw)?;
    Ok(if n == 0 { None } else { Some(n) })
}

/// A quota as `config` shows it: the number, or `unset`.
pub(super) fn show_quota(quota: Option<u64>) -> String {
    quota.map_or_else(|| "unset".to_string(), |n| n.to_string())
}

pub(super) fn as_percent(raw: &Raw<'_>) -> Result<u64, String> {
    let n = as_u64(raw)?;
    if n > 1000 {
        return Err(format!("expected a percentage, got {n}"));
    }
    Ok(n)
}

pub(super) fn as_bool(raw: &Raw<'_>) -> Result<bool, String> {
    match raw {
        Raw::Toml(toml::Value::Boolean(b)) => Ok(*b),
        _ => match as_str(raw)?.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(format!("expected true or false, got `{other}`")),
        },
    }
}

/// `burndown` or a non-negative number.
pub(super) fn as_multiplier(raw: &Raw<'_>) -> Result<Multiplier, String> {
    let multiplier = match raw {
        Raw::Toml(toml::Value::Integer(n)) => Multiplier::Fixed(*n as f64),
        Raw::Toml(toml::Value::Float(f)) => Multiplier::Fixed(*f),
        _ => {
            let text = as_str(raw)?;
            if text.trim().eq_ignore_ascii_case("burndown") {
                Multiplier::Burndown
            } else {
                match text.trim().parse::<f64>() {
                    Ok(f) if f.is_finite() && f >= 0.0 => Multiplier::Fixed(f),
                    _ => return Err(format!("expected `burndown` or a number, got `{text}`")),
                }
            }
        }
    };
    if let Multiplier::Fixed(f) = multiplier
        && !(f.is_finite() && f >= 0.0)
    {
        return Err("must be a non-negative number".to_string());
    }
    Ok(multiplier)
}

/// A table from TOML, or `k=v,k=v` from env.
fn as_table<'a>(raw: &'a Raw<'a>) -> Result<Vec<(String, Raw<'a>)>, String> {
    match raw {
        Raw::Toml(toml::Value::Table(table)) => Ok(table
            .iter()
            .map(|(k, v)| (k.clone(), Raw::Toml(v)))
            .collect()),
        Raw::Toml(other) => Err(format!("expected a table, got {}", other.type_str())),
        Raw::Env(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), Raw::Env(v.trim())))
                    .ok_or_else(|| format!("expected key=value, got `{item}`"))
            })
            .collect(),
    }
}

/// A table of values, each checked by `value` (given its key, for the error); keys that
/// are model names (`lowercase`) are matched without case.
pub(super) fn as_map<T>(
    raw: &Raw<'_>,
    lowercase: bool,
    value: impl Fn(&str, &Raw<'_>) -> Result<T, String>,
) -> Result<BTreeMap<String, T>, String> {
    let mut table = BTreeMap::new();
    for (key, v) in as_table(raw)? {
        let v = value(&key, &v)?;
        let key = if lowercase {
            key.to_ascii_lowercase()
        } else {
            key
        };
        table.insert(key, v);
    }
    Ok(table)
}

/// A model's burndown rate: a non-negative number.
pub(super) fn as_rate(model: &str, raw: &Raw<'_>) -> Result<f64, String> {
    let rate = match raw {
        Raw::Toml(toml::Value::Integer(n)) => *n as f64,
        Raw::Toml(toml::Value::Float(f)) => *f,
        other => as_str(other)?
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("`{model}`: expected a number"))?,
    };
    if !(rate.is_finite() && rate >= 0.0) {
        return Err(format!("`{model}`: expected a non-negative number"));
    }
    Ok(rate)
}

/// A table as `config` shows it: `k=v,k=v`, or `(none)`.
pub(super) fn show_map<T>(table: &BTreeMap<String, T>, value: impl Fn(&T) -> String) -> String {
    if table.is_empty() {
        return "(none)".to_string();
    }
    let parts: Vec<String> = table
        .iter()
        .map(|(k, v)| format!("{k}={}", value(v)))
        .collect();
    parts.join(",")
}

/// `[models."claude-sonnet-4-5"] tpm = ...` in TOML; `model:tpm=1:tpd=2,model2:...` in env.
pub(super) fn as_model_quotas(raw: &Raw<'_>) -> Result<BTreeMap<String, Quotas>, String> {
    let mut out = BTreeMap::new();
    match raw {
        Raw::Toml(toml::Value::Table(table)) => {
            for (model, value) in table {
                let toml::Value::Table(fields) = value else {
                    return Err(format!("`{model}`: expected a table with tpd/tpm/rpm"));
                };
                let mut quotas = Quotas::default();
                for (field, v) in fields {
                    let n =
                        as_quota(&Raw::Toml(v)).map_err(|e| format!("`{model}.{field}`: {e}"))?;
                    set_quota_field(&mut quotas, field, n)
                        .map_err(|e| format!("`{model}`: {e}"))?;
                }
                out.insert(model.to_ascii_lowercase(), quotas);
            }
        }
        Raw::Env(text) => {
            for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                // `model:tpm=1:tpd=2`, or `model=tpd=2:tpm=1` as `config` shows it.
                let (model, fields) = match item.split_once([':', '=']) {
                    Some((model, "")) if item[model.len()..].starts_with('=') => (model, None),
                    Some((model, fields)) => (model, Some(fields)),
                    None => (item, None),
                };
                let model = model.trim().to_ascii_lowercase();
                let mut quotas = Quotas::default();
                for part in fields.into_iter().flat_map(|f| f.split(':')) {
                    let (field, value) = part
                        .split_once('=')
                        .ok_or_else(|| format!("expected field=value, got `{part}`"))?;
                    let n = as_quota(&Raw::Env(value.trim()))?;
                    set_quota_field(&mut quotas, field.trim(), n)?;
                }
                out.insert(model, quotas);
            }
        }
        Raw::Toml(other) => return Err(format!("expected a table, got {}", other.type_str())),
    }
    Ok(out)
}

/// One model's quotas as `config` shows them: `tpd=1000000:tpm=200000`.
pub(super) fn show_model_quotas(quotas: &Quotas) -> String {
    let mut parts = Vec::new();
    if let Some(n) = quotas.tpd {
        parts.push(format!("tpd={n}"));
    }
    if let Some(n) = quotas.tpm {
        parts.push(format!("tpm={n}"));
    }
    if let Some(n) = quotas.rpm {
        parts.push(format!("rpm={n}"));
    }
    parts.join(":")
}

fn set_quota_field(quotas: &mut Quotas, field: &str, n: Option<u64>) -> Result<(), String> {
    match field {
        "tpd" => quotas.tpd = n,
        "tpm" => quotas.tpm = n,
        "rpm" => quotas.rpm = n,
        other => {
            return Err(format!(
                "unknown quota `{other}` (expected tpd, tpm or rpm)"
            ));
        }
    }
    Ok(())
}
