//! Reading settings from the environment.
//!
//! Each component has its own `from_env()` (store, retry policy, sources,
//! engine, HTTP); they share these helpers so every bad value is reported the
//! same way: naming the variable, never echoing a secret's value.

use std::str::FromStr;

/// A setting that is present but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: String,
    /// What is wrong with it (never its value, which may be a secret).
    pub reason: String,
}

impl ConfigError {
    /// An error about variable `name`.
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The variable's value, trimmed, with empty counting as unset.
pub fn env_str(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The variable parsed as `T`; unset or empty is `Ok(None)`.
pub fn env_parse<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>, ConfigError> {
    match env_str(lookup, name) {
        None => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(|_| {
            ConfigError::invalid(
                name,
                format!(
                    "expected a {}",
                    std::any::type_name::<T>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("value")
                ),
            )
        }),
    }
}

/// A boolean variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
pub fn env_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<bool>, ConfigError> {
    match env_str(lookup, name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) => match v.as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(ConfigError::invalid(name, "expected true or false")),
        },
    }
}

/// Whether the process runs on Vercel (`VERCEL=1` or `VERCEL_ENV` set).
pub fn is_vercel(lookup: &impl Fn(&str) -> Option<String>) -> bool {
    env_str(lookup, "VERCEL").as_deref() == Some("1") || env_str(lookup, "VERCEL_ENV").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_names_the_variable_and_hides_the_value() {
        let lookup = |k: &str| (k == "X").then(|| "s3cret".to_owned());
        let err = env_parse::<u64>(&lookup, "X").unwrap_err();
        assert_eq!(err.name, "X");
        assert!(!err.to_string().contains("s3cret"));
        assert_eq!(env_parse::<u64>(&lookup, "Y"), Ok(None));
    }

    #[test]
    fn empty_is_unset_and_bools_parse() {
        let lookup = |k: &str| match k {
            "E" => Some("  ".to_owned()),
            "B" => Some("Yes".to_owned()),
            _ => None,
        };
        assert_eq!(env_str(&lookup, "E"), None);
        assert_eq!(env_bool(&lookup, "B"), Ok(Some(true)));
        assert!(!is_vercel(&lookup));
        assert!(is_vercel(
            &|k: &str| (k == "VERCEL_ENV").then(|| "production".to_owned())
        ));
    }
}
