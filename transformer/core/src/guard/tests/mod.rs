//! Unit tests per detector, the evaluation (recall, decoys, confusion table),
//! determinism, and a no-panic property over random input.
//!
//! # Layout
//! - `detectors`: each detector's forms, near misses and hints.
//! - `evaluation`: recall and false positives on the evaluation set, the
//!   sample tables and free text; determinism; no panic on random input.
//!
//! Here, the helpers both use.

use super::eval::{self, Rng, Sample};
use super::{Context, Detector, Guard};

mod detectors;
mod evaluation;

fn guard() -> Guard {
    Guard::default()
}

/// What fires on `text` (a JSON string) in `column`.
fn on(column: &str, text: &str) -> Option<Detector> {
    let g = guard();
    g.detect(&g.context(column), text, false)
}

/// What fires on the JSON number `literal` in `column`.
fn on_number(column: &str, literal: &str) -> Option<Detector> {
    let g = guard();
    g.detect(&g.context(column), literal, true)
}

fn assert_fires(detector: Detector, column: &str, texts: &[&str]) {
    for text in texts {
        assert_eq!(on(column, text), Some(detector), "{column}: {text:?}");
    }
}

fn assert_silent(column: &str, texts: &[&str]) {
    for text in texts {
        assert_eq!(on(column, text), None, "{column}: {text:?}");
    }
}
