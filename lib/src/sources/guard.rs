//! The panic guard around every adapter call: a bug in one adapter becomes
//! a transient failure of that fetch (the engine must record *something*
//! for every slot), logged at error level and counted in
//! [`crate::metrics::source_adapter_panics`], so it is absorbed but never
//! silent.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use super::{http, SourceOutcome};
use crate::model::SourceType;

/// Runs `work` (one adapter's fetch for `home_id`), turning a panic into a
/// transient failure that is logged and counted.
pub(crate) async fn catch_adapter_panic(
    source: SourceType,
    home_id: &str,
    work: impl Future<Output = SourceOutcome>,
) -> SourceOutcome {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(_) => {
            let total = crate::metrics::count_source_adapter_panic();
            tracing::error!(
                source = source.as_str(),
                home_id,
                source_adapter_panics = total,
                "source adapter panicked"
            );
            SourceOutcome::Failed(http::transient("internal error in the source adapter"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::FailureKind;

    #[tokio::test]
    async fn a_panicking_adapter_is_a_transient_failure_and_is_counted() {
        let before = crate::metrics::source_adapter_panics();
        let outcome = catch_adapter_panic(SourceType::Cqc, "H1", async {
            if std::hint::black_box(true) {
                panic!("adapter bug");
            }
            SourceOutcome::NotFound
        })
        .await;
        match outcome {
            SourceOutcome::Failed(f) => assert_eq!(f.kind, FailureKind::Transient),
            other => panic!("{other:?}"),
        }
        // Other tests may count their own panics meanwhile: at least ours.
        assert!(crate::metrics::source_adapter_panics() > before);
    }

    #[tokio::test]
    async fn an_adapter_that_answers_is_not_counted() {
        let outcome =
            catch_adapter_panic(SourceType::Fsa, "H1", async { SourceOutcome::NotFound }).await;
        assert_eq!(outcome, SourceOutcome::NotFound);
    }
}
