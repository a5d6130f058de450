//! Planning: resolve a statement's target, evaluate its filter through the
//! attribute indexes, and choose how to run a similarity search (`plan`).

pub(crate) mod filter;
pub(crate) mod plan;
