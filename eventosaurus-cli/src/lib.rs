//! # eventosaurus-cli
//!
//! Create, list, describe, check and drop the DynamoDB tables of an application's event
//! types, and query their events (`query <table> --by person_id=5`), scoped to one
//! environment prefix (`EVENT_ENVIRONMENT_PREFIX` or `--prefix`).
//!
//! The CLI acts on the table definitions it is given. An application gets it for its own
//! events with a small binary that names them, e.g. `src/bin/events.rs` next to a library
//! that defines `PhoneCall` and `NeatEvent`:
//!
//! ```no_run
//! # mod my_events {
//! #     #[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! #     #[eventosaurus(table = "phone_call", partition_key = person_id)]
//! #     pub struct PhoneCall { pub person_id: u64 }
//! #     #[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! #     #[eventosaurus(table = "neat_event", partition_key = location)]
//! #     pub struct NeatEvent { pub location: String }
//! # }
//! use eventosaurus::Storable;
//!
//! fn main() -> std::process::ExitCode {
//!     eventosaurus_cli::run(&[my_events::PhoneCall::TABLE, my_events::NeatEvent::TABLE])
//! }
//! ```
//!
//! Name the types (or a `pub const TABLES: &[&TableDef]` of the library): the
//! [registry](eventosaurus::registry) only holds the event types the linker kept, and it drops
//! those of a library crate that the binary never names. `eventosaurus::registry::tables()`
//! is a fine source when the events are defined in the binary's own crate.
//!
//! [`run`] parses the process's arguments and returns the exit code; it never exits the
//! process and installs no panic hook: that is the binary's business. [`run_from`] takes the
//! arguments, [`execute`] is the async core, and the command functions in [`commands`] are
//! plain async functions over a [`Store`] and the definitions. The `eventosaurus-cli` binary
//! itself has no event types compiled in and reads definitions from a file (see
//! [`definitions`]).
//!
//! Exit codes: [`EXIT_OK`] 0 on success, [`EXIT_FAILURE`] 1 on failure (DynamoDB errors,
//! drift found by `check-tables`, a drop not confirmed or refused, a `query` needing a Scan
//! without `--allow-scan`), [`EXIT_USAGE`] 2 on usage errors (bad arguments, a missing or
//! invalid prefix or endpoint, an unknown table or a malformed `--by`, an invalid definitions
//! file). Errors are printed as one line, `error: ...`, on standard error.
#![warn(missing_docs)]

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eventosaurus::config::{ENDPOINT_VARS, ENVIRONMENT_PREFIX_VAR};
use eventosaurus::table::{Billing, TableDef};
use eventosaurus::{Config, Store};

pub mod commands;
pub mod definitions;
mod error;
pub mod json;
pub mod serve;
pub mod tail;

pub use error::{CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "eventosaurus-cli",
    version,
    about = "Create, list, describe, check and drop the DynamoDB tables of the registered event \
             types, and query their events.",
    after_help = "Tables are named <prefix>_<table>. Exit codes: 0 success, 1 failure (including drift \
                  found and a drop not confirmed), 2 usage (including a missing prefix)."
)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Environment prefix: tables are named <PREFIX>_<table>; letters, digits, - and ., no _
    /// [default: $EVENT_ENVIRONMENT_PREFIX]
    #[arg(long, global = true, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// DynamoDB endpoint URL, e.g. http://127.0.0.1:8000 [default: $AWS_ENDPOINT_URL_DYNAMODB,
    /// $AWS_ENDPOINT_URL or $AWS_ENDPOINT; else AWS]
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// AWS region [default: from the AWS configuration; us-east-1 for a local endpoint]
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Use the table definitions in this JSON file (as printed by `describe-tables
    /// --definitions`) instead of the ones this binary was built with
    #[arg(long, global = true, value_name = "FILE")]
    pub tables: Option<std::path::PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Create every registered table that is missing and wait until it is ACTIVE
    CreateTables(CreateArgs),
    /// List the tables named <prefix>_..., marking those a registered event type declares
    ListTables {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Print the CreateTable definition of every registered table as JSON
    DescribeTables {
        /// Print the live DescribeTable of each table instead
        #[arg(long, conflicts_with = "definitions")]
        live: bool,
        /// Print the table definitions in the format of --tables instead
        #[arg(long)]
        definitions: bool,
    },
    /// Compare the live tables with their definitions; exit 1 on any drift
    CheckTables {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Query the events of a registered table, e.g. `query phone_call --by person_id=5`
    Query(QueryArgs),
    /// Print events as they are stored (DynamoDB Streams), e.g. `tail phone_call --json`
    Tail(tail::TailArgs),
    /// Serve the events over HTTP as they are stored: SSE, NDJSON and a live page
    Serve(serve::ServeArgs),
    /// Drop the registered tables of this prefix (exact names only), after confirmation
    DropTables {
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
        /// Only list what would be dropped
        #[arg(long)]
        dry_run: bool,
    },
}

/// The syntax of `--by`, shown by `query --help`.
pub const BY_HELP: &str =
    "A condition ATTRIBUTE OPERATOR VALUE; repeat --by for more (all must hold).

Operators: = (EQ), != or <> (NE), <, <=, >, >=, and the words in (1 to 100 comma-separated \
values), between (LOW,HIGH, both included), begins_with, contains and not_contains (string \
attributes). Symbolic operators need no spaces around them; words need spaces on both sides. \
The value is the rest of the text, trimmed (it may contain spaces and =); write a value in \
double quotes, as a JSON string, for leading or trailing spaces, the empty string or a comma \
inside an in/between value. Values are typed by the attribute (numbers for number attributes, \
true/false for bools, strings otherwise; event_uuid and created_at are strings).

Examples: --by person_id=5  --by 'created_at>2015-01-04'  --by 'person_id in 1,2,3' \
--by 'phone_number begins_with 555'  --by 'created_at between 2015-01-01,2015-02-01'";

/// Options of `query`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The conditions are planned like the typed query builder's: an EQ on the \
partition key makes a Query of one partition, one condition on created_at (or event_uuid) \
selects the range (created_at uses the created_at_index LSI), every other condition is a \
filter. Without an EQ on the partition key the query is refused unless --allow-scan is given. \
See --explain."
)]
pub struct QueryArgs {
    /// The registered table name, without the prefix, e.g. phone_call
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// A condition ATTRIBUTE OPERATOR VALUE, e.g. person_id=5 or 'created_at>2015-01-04'
    /// (repeatable; see --help for the syntax)
    #[arg(long = "by", value_name = "CONDITION", long_help = BY_HELP)]
    pub by: Vec<String>,
    /// Print only how many events match (Select=COUNT, summed over all pages)
    #[arg(long)]
    pub count: bool,
    /// Return at most N events (counted after filtering)
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Newest first: descending range key order (created_at on the index, else event_uuid)
    #[arg(long)]
    pub desc: bool,
    /// Print the planned request as JSON (operation, index, expressions) without sending it
    #[arg(long)]
    pub explain: bool,
    /// Print one JSON object per event and line (its attributes plus event_uuid and created_at)
    #[arg(long)]
    pub json: bool,
    /// Allow a full-table Scan when there is no EQ condition on the partition key
    #[arg(long)]
    pub allow_scan: bool,
    /// Strongly consistent reads
    #[arg(long)]
    pub consistent_read: bool,
}

/// Options of `create-tables`.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Billing mode of new tables
    #[arg(long, value_enum, default_value_t = BillingArg::OnDemand)]
    pub billing: BillingArg,
    /// Read capacity units (with --billing provisioned)
    #[arg(long, value_name = "N", required_if_eq("billing", "provisioned"))]
    pub read: Option<i64>,
    /// Write capacity units (with --billing provisioned)
    #[arg(long, value_name = "N", required_if_eq("billing", "provisioned"))]
    pub write: Option<i64>,
    /// Create new tables without a DynamoDB stream (then no consumer or tail can read them)
    #[arg(long, conflicts_with = "enable_streams")]
    pub no_streams: bool,
    /// Turn the stream (NEW_IMAGE) on for existing tables that have none (UpdateTable)
    #[arg(long)]
    pub enable_streams: bool,
}

/// `--billing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BillingArg {
    /// PAY_PER_REQUEST
    OnDemand,
    /// PROVISIONED, with --read and --write
    Provisioned,
}

impl CreateArgs {
    /// The billing mode these flags ask for.
    pub fn billing(&self) -> Result<Billing, CliError> {
        match (self.billing, self.read, self.write) {
            (BillingArg::OnDemand, None, None) => Ok(Billing::OnDemand),
            (BillingArg::OnDemand, _, _) => Err(CliError::Usage(
                "--read and --write need --billing provisioned".to_owned(),
            )),
            (BillingArg::Provisioned, Some(read), Some(write)) if read >= 1 && write >= 1 => {
                Ok(Billing::Provisioned { read, write })
            }
            (BillingArg::Provisioned, Some(_), Some(_)) => Err(CliError::Usage(
                "--read and --write must be at least 1".to_owned(),
            )),
            (BillingArg::Provisioned, _, _) => Err(CliError::Usage(
                "--billing provisioned needs --read N and --write N".to_owned(),
            )),
        }
    }
}

/// The configuration the global flags and the environment give.
///
/// The prefix is `--prefix`, else `EVENT_ENVIRONMENT_PREFIX`; the endpoint is `--endpoint`,
/// else the first of `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL` and `AWS_ENDPOINT`.
pub fn config(global: &GlobalArgs) -> Result<Config, CliError> {
    let non_empty = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
    let mut builder = Config::builder();
    builder = match (&global.prefix, non_empty(ENVIRONMENT_PREFIX_VAR)) {
        (Some(prefix), _) => builder.environment_prefix_from(prefix, "--prefix"),
        (None, Some(prefix)) => builder.environment_prefix_from(prefix, ENVIRONMENT_PREFIX_VAR),
        (None, None) => return Err(CliError::MissingPrefix),
    };
    if let Some(endpoint) = &global.endpoint {
        builder = builder.endpoint_from(endpoint, "--endpoint");
    } else if let Some((var, endpoint)) = ENDPOINT_VARS
        .iter()
        .find_map(|var| non_empty(var).map(|e| (*var, e)))
    {
        builder = builder.endpoint_from(endpoint, var);
    }
    if let Some(region) = &global.region {
        builder = builder.region(region);
    }
    builder.build().map_err(CliError::Config)
}

/// The CLI over `tables`, with the process's arguments: parses them, runs the command and
/// returns its exit code, for `fn main() -> ExitCode`.
///
/// Prints the command's output on standard output, and errors as one line on standard error.
/// Starts a current-thread tokio runtime of its own: from async code, use [`execute`].
pub fn run(tables: &[&'static TableDef]) -> ExitCode {
    run_from(tables, std::env::args_os())
}

/// Like [`run`], with the command line given (the first item is the program name).
pub fn run_from<I, T>(tables: &[&'static TableDef], args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version come here too, with exit code 0; usage errors with 2.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return report(&CliError::Io(err)),
    };
    match runtime.block_on(execute(tables, cli)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(err) => report(&err),
    }
}

/// Prints `err` as one line, `error: ...`, on standard error and returns its exit code.
pub fn report(err: &CliError) -> ExitCode {
    let _ = std::io::stdout().flush();
    eprintln!("error: {}", err.one_line());
    ExitCode::from(err.exit_code())
}

/// Runs the parsed command over `tables` (or over the definitions of `--tables FILE`),
/// writing its output to standard output.
pub async fn execute(tables: &[&'static TableDef], cli: Cli) -> Result<(), CliError> {
    // Usage errors first, before connecting.
    let loaded;
    let registered = match &cli.global.tables {
        Some(path) => {
            loaded = definitions::load(path)?;
            &loaded[..]
        }
        None => tables,
    };
    let billing = match &cli.command {
        Command::CreateTables(args) => args.billing()?,
        _ => Billing::OnDemand,
    };
    let query = match &cli.command {
        Command::Query(args) => Some(commands::QueryRequest::from_args(registered, args)?),
        _ => None,
    };
    let stdout = std::io::stdout();
    let out = &mut stdout.lock();
    if let Command::DescribeTables {
        definitions: true, ..
    } = cli.command
    {
        // Plain data: no configuration or connection needed.
        commands::describe_definitions(registered, out)?;
        out.flush()?;
        return Ok(());
    }
    let store = Store::connect(config(&cli.global)?)
        .await
        .map_err(CliError::Config)?;
    match cli.command {
        Command::CreateTables(args) => {
            let stream = (!args.no_streams).then_some(eventosaurus::table_stream::DEFAULT_STREAM);
            let created = commands::create_tables(
                &store,
                registered,
                billing,
                stream,
                out,
                &mut std::io::stderr(),
            )
            .await?;
            tail::create_tables_streams(
                &store,
                &created,
                args.enable_streams,
                args.no_streams,
                out,
            )
            .await?;
        }
        Command::ListTables { json } => {
            commands::list_tables(&store, registered, json, out).await?;
        }
        Command::DescribeTables { live: false, .. } => {
            commands::describe_tables(&store, registered, out, &mut std::io::stderr())?;
        }
        Command::DescribeTables { live: true, .. } => {
            commands::describe_live_tables(&store, registered, out).await?;
        }
        Command::CheckTables { json } => {
            commands::check_tables(&store, registered, json, out).await?;
        }
        Command::Tail(args) => {
            tail::tail(&store, registered, &args, tail::interrupted(), out).await?;
        }
        Command::Serve(args) => {
            serve::serve(
                &store,
                registered,
                &args,
                eventosaurus_http::terminated(),
                out,
            )
            .await?;
        }
        Command::Query(_) => {
            if let Some(request) = query {
                commands::query(&store, &request, out).await?;
            }
        }
        Command::DropTables { yes, dry_run } => {
            let confirm = if dry_run {
                commands::Confirm::DryRun
            } else if yes {
                commands::Confirm::Yes
            } else {
                commands::Confirm::AskOnTerminal
            };
            commands::drop_tables(&store, registered, confirm, out).await?;
        }
    }
    out.flush()?;
    Ok(())
}
