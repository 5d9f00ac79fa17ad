//! One module per resource.

pub mod decisions;
pub mod ops;
pub mod rules;
