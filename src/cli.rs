//! The command line: `serve` (the default), `decide`, `rules check`, `rules test`,
//! `rules show`, `rules init`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Decides what to do with an after-sales request during a logistics disruption.
#[derive(Debug, Parser)]
#[command(name = "aftersales", version, about)]
pub struct Cli {
    /// Rules file to use instead of the embedded 2023 Hangzhou rules.
    #[arg(long, global = true, env = "AFTERSALES_RULES", value_name = "FILE")]
    pub rules: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// Server options, for `serve` or no subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Decide one request read from FILE or standard input; the decision goes to stdout.
    Decide(DecideArgs),
    /// Check or print rules files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print the OpenAPI 3.1 description (the committed openapi.yaml).
    Openapi,
    /// Check that a server answers /healthz (for container health checks).
    Health {
        /// The server's base URL.
        #[arg(
            long,
            default_value = "http://127.0.0.1:8080",
            env = "AFTERSALES_HEALTH_URL"
        )]
        url: String,
    },
}

/// Options of `decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The request (JSON); standard input when absent or `-`.
    pub file: Option<PathBuf>,
    /// Language of the texts (zh-CN or en).
    #[arg(long, default_value = "zh-CN")]
    pub lang: String,
    /// Print a readable summary instead of JSON.
    #[arg(long)]
    pub text: bool,
}

/// `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules file and run its [[test]]s; errors and warnings name line and
    /// column. Exits 0 when the file loads (warnings alone do not fail it).
    Check {
        /// The rules file.
        file: PathBuf,
    },
    /// Run a rules file's [[test]]s: exits 0 when all pass, otherwise names each failing
    /// test and what differed.
    Test {
        /// The rules file.
        file: PathBuf,
    },
    /// Print the effective rules (embedded, or from --rules) in the rules-file format.
    Show,
    /// Print the shipped 2023 Hangzhou rules file with its comments: a starting point.
    Init,
}

impl Default for ServeArgs {
    /// The defaults of the command line (and of any `AFTERSALES_*` variable set in the
    /// environment), as `aftersales serve` with no flags gets them.
    fn default() -> ServeArgs {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            serve: ServeArgs,
        }
        match Defaults::try_parse_from(["aftersales"]) {
            Ok(d) => d.serve,
            Err(e) => e.exit(),
        }
    }
}

/// The longest time any `--*-seconds` or `--*-timeout` option takes: an hour. A drain,
/// a grace period or a timeout longer than that is a typo (or `u64::MAX`), and would keep
/// a SIGTERM or a stuck request from ever ending.
pub const MAX_SECONDS: u64 = 3600;

/// A count that cannot work at 0 (a limit of no requests, no connections, no batch
/// items, no body bytes, no queued lines): refused at start, naming the flag and the
/// range, rather than served with every request refused, or raised silently to 1.
fn positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("0 cannot work: it must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}: a whole number, at least 1")),
    }
}

/// Seconds from 1 to [`MAX_SECONDS`]: a timeout of 0 would refuse or close everything.
fn seconds(value: &str) -> Result<u64, String> {
    seconds_in(value, 1)
}

/// Seconds from 0 to [`MAX_SECONDS`].
fn seconds_or_none(value: &str) -> Result<u64, String> {
    seconds_in(value, 0)
}

fn seconds_in(value: &str, least: u64) -> Result<u64, String> {
    let range = format!("it must be {least} to {MAX_SECONDS} seconds");
    match value.parse::<u64>() {
        Ok(n) if n < least => Err(format!("{n} cannot work: {range}")),
        Ok(n) if n > MAX_SECONDS => Err(format!("{n} s is more than an hour: {range}")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}: a whole number of seconds; {range}")),
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Server configuration; every option also reads an environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        global = true,
        env = "AFTERSALES_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,

    /// Bearer tokens that may call /v1/*, comma-separated; neither this nor
    /// --api-tokens-file set: no auth. Set but blank: the service refuses to start.
    #[arg(
        long,
        global = true,
        env = "AFTERSALES_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_tokens: Vec<String>,

    /// File of bearer tokens that may call /v1/*, one per line (`#` comments), re-read on
    /// SIGHUP; a file without a token stops the service. Not with --api-tokens.
    #[arg(
        long,
        global = true,
        env = "AFTERSALES_API_TOKENS_FILE",
        value_name = "FILE"
    )]
    pub api_tokens_file: Option<PathBuf>,

    /// Largest request body accepted, in bytes (at least 1).
    #[arg(value_parser = positive, long, global = true, env = "AFTERSALES_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// Requests served at once (at least 1); more are answered 503 with Retry-After.
    #[arg(
        value_parser = positive,
        long,
        global = true,
        env = "AFTERSALES_CONCURRENCY_LIMIT",
        default_value_t = 512
    )]
    pub concurrency_limit: usize,

    /// Seconds a /v1 request's work (parse, decide, log) may take once its body is in;
    /// past it the request is answered 503 and its work stops, leaving no decision-log line.
    /// 1 to 3600.
    #[arg(
        value_parser = seconds,
        long,
        global = true,
        env = "AFTERSALES_REQUEST_TIMEOUT",
        default_value_t = 10
    )]
    pub request_timeout: u64,

    /// Most items in one batch (at least 1).
    #[arg(
        value_parser = positive,
        long,
        global = true,
        env = "AFTERSALES_BATCH_LIMIT",
        default_value_t = 5000
    )]
    pub batch_limit: usize,

    /// Log format.
    #[arg(long, global = true, env = "AFTERSALES_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Write one JSON line per decision to this file (appended), or `-` for stdout.
    #[arg(
        long,
        global = true,
        env = "AFTERSALES_DECISION_LOG",
        value_name = "FILE"
    )]
    pub decision_log: Option<String>,

    /// Decision-log lines queued for the writer at most; more wait (each answer waits
    /// until its lines are written anyway). At least 1.
    #[arg(
        value_parser = positive,
        long,
        global = true,
        env = "AFTERSALES_DECISION_LOG_BUFFER",
        default_value_t = 8192
    )]
    pub decision_log_buffer: usize,

    /// Seconds to keep serving after SIGTERM while /readyz reports 503 (0 to 3600).
    #[arg(
        value_parser = seconds_or_none,
        long,
        global = true,
        env = "AFTERSALES_DRAIN_SECONDS",
        default_value_t = 5
    )]
    pub drain_seconds: u64,

    /// Seconds in-flight requests get to finish once the server stops accepting (0 to
    /// 3600).
    #[arg(
        value_parser = seconds_or_none,
        long,
        global = true,
        env = "AFTERSALES_GRACE_SECONDS",
        default_value_t = 20
    )]
    pub grace_seconds: u64,

    /// Seconds a client has to send a request's headers (also how long an idle
    /// keep-alive connection stays open, and how long a client may take no byte of an
    /// answer); slower connections are closed. 1 to 3600.
    #[arg(
        value_parser = seconds,
        long,
        global = true,
        env = "AFTERSALES_HEADER_READ_TIMEOUT",
        default_value_t = 10
    )]
    pub header_read_timeout: u64,

    /// Open connections at most; at the cap the oldest connection not inside a request is
    /// closed to make room. Default: the open-files limit less a reserve (at most 16384).
    /// At least 1.
    #[arg(value_parser = positive, long, global = true, env = "AFTERSALES_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Seconds a /v1 request's body may take to arrive; slower is answered 408. The body is
    /// read before the request takes one of the --concurrency-limit slots. 1 to 3600.
    #[arg(
        value_parser = seconds,
        long,
        global = true,
        env = "AFTERSALES_BODY_READ_TIMEOUT",
        default_value_t = 10
    )]
    pub body_read_timeout: u64,

    /// Bytes of /v1 request bodies held in memory at once, read or being worked on; a body
    /// that finds no room within a second is answered 503. At least --body-limit.
    #[arg(
        long,
        global = true,
        env = "AFTERSALES_BODY_BUDGET",
        default_value_t = 64 * 1024 * 1024
    )]
    pub body_budget: usize,
}
