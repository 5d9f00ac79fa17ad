//! HTTP shell (placeholder until the service lands).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::ServeArgs;
use crate::rules::Rules;

/// Serves the API.
pub fn run(_rules: Rules, _path: Option<PathBuf>, _args: ServeArgs) -> ExitCode {
    eprintln!("serve: not built yet");
    ExitCode::FAILURE
}

/// Probes /healthz.
pub fn probe(_url: &str) -> ExitCode {
    ExitCode::FAILURE
}
