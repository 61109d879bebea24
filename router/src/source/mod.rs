//! Where DMS records come from.

pub mod generate;
