//! Logging of the Lambda binaries: plain lines at INFO, no timestamps
//! (CloudWatch adds them).
//!
//! `lambda_runtime` logs whole events at TRACE, hyper and the AWS SDK log
//! bodies at DEBUG and TRACE: PII. So every event below INFO from a target
//! that is not ours is dropped by a filter that `RUST_LOG` cannot widen
//! (both filters must pass). Our own targets log counts, ids and reasons
//! only, never values.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, FilterExt as _, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

/// Our crates: the only targets allowed to log below INFO.
const OWN_TARGETS: [&str; 3] = ["cdc_mask_core", "cdc_mask_transformer", "cdc_mask_lambda"];

/// Whether an event may be logged whatever `RUST_LOG` says.
pub fn allowed(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || OWN_TARGETS.iter().any(|t| meta.target().starts_with(t))
}

/// `RUST_LOG` as levels per target (`debug`, `cdc_mask_core=trace,info`):
/// directives it cannot read are skipped; none readable means INFO. Plain
/// target prefixes, no span or field filters: `EnvFilter` would bring a
/// regex engine into the Lambda for those, which nobody uses there.
fn env_targets(spec: Option<&str>) -> Targets {
    let mut targets = Targets::new();
    let mut any = false;
    // An empty directive would parse as a bare level: ERROR.
    let parts = spec.unwrap_or_default().split(',').map(str::trim);
    for part in parts.filter(|part| !part.is_empty()) {
        let Ok(parsed) = part.parse::<Targets>() else {
            continue;
        };
        if let Some(level) = parsed.default_level() {
            targets = targets.with_default(level);
            any = true;
        }
        any |= parsed.iter().next().is_some();
        targets = targets.with_targets(&parsed);
    }
    if any {
        targets
    } else {
        Targets::new().with_default(LevelFilter::INFO)
    }
}

/// Logs at INFO (`RUST_LOG` for more of our own), to stderr.
pub fn init() {
    let env = env_targets(std::env::var("RUST_LOG").ok().as_deref());
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_filter(env.and(filter_fn(allowed)));
    tracing_subscriber::registry().with(layer).init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::callsite::Identifier;
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;

    struct Callsite;
    impl tracing::callsite::Callsite for Callsite {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            unreachable!("not registered")
        }
    }
    static CALLSITE: Callsite = Callsite;

    fn meta(target: &'static str, level: Level) -> Metadata<'static> {
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&CALLSITE)),
            Kind::EVENT,
        )
    }

    #[test]
    fn rust_log_sets_levels_per_target_and_defaults_to_info() {
        for unset in [None, Some(""), Some("x=loud, ")] {
            let targets = env_targets(unset);
            assert!(targets.would_enable("anything", &Level::INFO), "{unset:?}");
            assert!(
                !targets.would_enable("anything", &Level::DEBUG),
                "{unset:?}"
            );
        }
        let targets = env_targets(Some("warn, cdc_mask_core=trace,x=loud"));
        assert!(targets.would_enable("cdc_mask_core::scan", &Level::TRACE));
        assert!(targets.would_enable("hyper", &Level::WARN));
        assert!(!targets.would_enable("hyper", &Level::INFO));
        let targets = env_targets(Some("cdc_mask_transformer=debug"));
        assert!(targets.would_enable("cdc_mask_transformer", &Level::DEBUG));
        assert!(!targets.would_enable("hyper", &Level::ERROR));
    }

    #[test]
    fn foreign_targets_are_capped_at_info() {
        for target in [
            "lambda_runtime::layers::api_response",
            "hyper::proto",
            "aws_smithy_runtime::client",
        ] {
            assert!(!allowed(&meta(target, Level::TRACE)), "{target}");
            assert!(!allowed(&meta(target, Level::DEBUG)), "{target}");
            assert!(allowed(&meta(target, Level::INFO)), "{target}");
            assert!(allowed(&meta(target, Level::ERROR)), "{target}");
        }
        assert!(allowed(&meta(
            "cdc_mask_transformer::processor",
            Level::DEBUG
        )));
    }
}
