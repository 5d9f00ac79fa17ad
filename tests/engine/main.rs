//! The engine through its public API: the worked examples, the policy's tables row by
//! row, the boundaries, the rules file, and properties over arbitrary cases.

mod examples;
mod helpers;
mod kuaishou;
mod notices;
mod parsing;
mod platform;
mod policy;
mod properties;
mod rules_file;
mod tables;
