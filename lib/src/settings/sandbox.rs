//! The sandbox's variables (docs/SOURCES.md):
//! `SANDBOX_FAULTS` and `SANDBOX_SEED`, read into a plain [`FaultPlan`].

use super::{env_parse, env_str, ConfigError};
use crate::sandbox::FaultPlan;

/// `SANDBOX_FAULTS` parsed (none when unset), with `SANDBOX_SEED` (when
/// set) overriding any `seed=` clause.
pub(super) fn fault_plan(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<FaultPlan, ConfigError> {
    let spec = env_str(lookup, "SANDBOX_FAULTS").unwrap_or_default();
    let mut plan = FaultPlan::parse(&spec)
        .map_err(|e| ConfigError::invalid("SANDBOX_FAULTS", e.to_string()))?;
    if let Some(seed) = env_parse(lookup, "SANDBOX_SEED")? {
        plan.seed = seed;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_and_seed_are_read_and_a_bad_plan_names_its_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            fault_plan(&env(&[])).unwrap(),
            FaultPlan::parse("").unwrap()
        );
        let plan = fault_plan(&env(&[
            ("SANDBOX_FAULTS", "cqc:status=503"),
            ("SANDBOX_SEED", "9"),
        ]))
        .unwrap();
        assert_eq!(plan.seed, 9);
        assert_ne!(plan, FaultPlan::parse("").unwrap());
        let err = fault_plan(&env(&[("SANDBOX_FAULTS", "nonsense:::")])).unwrap_err();
        assert_eq!(err.name, "SANDBOX_FAULTS", "{err}");
        let err = fault_plan(&env(&[("SANDBOX_SEED", "x")])).unwrap_err();
        assert_eq!(err.name, "SANDBOX_SEED", "{err}");
    }
}
