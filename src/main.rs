//! `aftersales`: parse the command line, load the rules, run the command.

use std::io::Read;
use std::process::ExitCode;

use aftersales::cli::{Cli, Command, DecideArgs, RulesCommand};
use aftersales::rules::Rules;
use clap::Parser;

fn main() -> ExitCode {
    // First of all: a SIGHUP while the server starts (its rules load) must not end it.
    aftersales::http::reload::catch_early_hangups();
    let cli = Cli::parse();
    if !matches!(cli.command, None | Some(Command::Serve)) {
        aftersales::http::reload::hangup_ends_the_process();
    }
    let rules = || match &cli.rules {
        Some(path) => Rules::from_path(path),
        None => Rules::embedded(),
    };
    match &cli.command {
        None | Some(Command::Serve) => match rules() {
            // `run` ends with the service log's final flush: non-zero when it failed.
            Ok(rules) => aftersales::http::run(rules, cli.rules.clone(), cli.serve.clone()),
            Err(e) => fail(&e),
        },
        Some(Command::Decide(args)) => match rules() {
            Ok(rules) => decide(&rules, args),
            Err(e) => fail(&e),
        },
        Some(Command::Rules(RulesCommand::Check { file })) => match Rules::from_path(file) {
            Ok(r) => {
                if let Err(code) = print_out(format_args!(
                    "{}: ok — version {}, {} notice(s), {} zone(s), {} test(s) passed, {} warning(s), {}\n",
                    r.origin,
                    r.version,
                    r.notices.len(),
                    r.notices.iter().map(|n| n.zones.len()).sum::<usize>(),
                    r.tests.len(),
                    r.load_warnings.len(),
                    r.checksum
                )) {
                    return code;
                }
                for w in &r.load_warnings {
                    eprintln!("{}", w.describe(&r.origin));
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Some(Command::Rules(RulesCommand::Test { file })) => match Rules::from_path(file) {
            // Loading runs the tests: a file that loads passed every one.
            Ok(r) if r.tests.is_empty() => fail(&format!(
                "{}: no [[test]] in the file: nothing was tested",
                r.origin
            )),
            Ok(r) => {
                let mut text = String::new();
                for name in &r.tests {
                    text.push_str(&format!("ok   {name}\n"));
                }
                text.push_str(&format!(
                    "{}: all {} test(s) passed\n",
                    r.origin,
                    r.tests.len()
                ));
                printed(text)
            }
            Err(e) => fail(&e),
        },
        Some(Command::Rules(RulesCommand::Init)) => printed(aftersales::rules::EMBEDDED_SOURCE),
        Some(Command::Rules(RulesCommand::Show)) => match rules().map(|r| r.to_toml()) {
            Ok(Ok(text)) => printed(text),
            Ok(Err(e)) => fail(&e),
            Err(e) => fail(&e),
        },
        Some(Command::Openapi) => printed(aftersales::http::openapi::yaml()),
        Some(Command::Health { url }) => aftersales::http::probe(url),
    }
}

/// Writes `text` to stdout: success, or how the command ends when stdout takes nothing.
fn printed(text: impl std::fmt::Display) -> ExitCode {
    print_out(text).err().unwrap_or(ExitCode::SUCCESS)
}

/// Writes `text` to stdout, flushed. A reader that went away (`| head -1`) ends the
/// command quietly with 141, as a shell reports a process SIGPIPE ended (never a panic);
/// another failure is said on stderr and ends it with 1.
fn print_out(text: impl std::fmt::Display) -> Result<(), ExitCode> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match write!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ExitCode::from(141)),
        Err(e) => Err(fail(&format!("cannot write to stdout: {e}"))),
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::FAILURE
}

fn decide(rules: &Rules, args: &DecideArgs) -> ExitCode {
    let mut input = String::new();
    let read = match args.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => std::fs::read_to_string(p).map(|s| input = s),
        _ => std::io::stdin().read_to_string(&mut input).map(|_| ()),
    };
    if let Err(e) = read {
        return fail(&format!("cannot read the request: {e}"));
    }
    let Some(lang) = rules.language(&args.lang) else {
        return fail(&format!(
            "no texts in `{}`: the rules have {}",
            args.lang,
            rules.languages.join(", ")
        ));
    };
    let now = chrono::Utc::now();
    match aftersales::decide_json(
        rules,
        input.as_bytes(),
        now,
        lang,
        aftersales::new_decision_id(),
    ) {
        Ok(d) if args.text => printed(aftersales::render::summary(&d.view, rules, lang)),
        Ok(d) => match serde_json::to_string_pretty(&d.view) {
            Ok(json) => printed(format_args!("{json}\n")),
            Err(e) => fail(&e),
        },
        Err(error) => {
            match error.kind {
                aftersales::RequestErrorKind::Malformed => {
                    eprintln!("the request is not valid JSON:")
                }
                aftersales::RequestErrorKind::Invalid => eprintln!("the request is invalid:"),
            }
            for e in error.errors {
                let at = if e.pointer.is_empty() {
                    "(the request)"
                } else {
                    e.pointer.as_str()
                };
                eprintln!("  {at}: {}", e.message);
            }
            ExitCode::from(2)
        }
    }
}
