//! The commands, as async functions over a [`Store`] and a list of registered tables.
//!
//! Each writes its report to `out` and returns what it did, or a [`CliError`]. All the table
//! logic lives in [`eventosaurus::table`]; these functions only call it and print.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

use eventosaurus::codec::Item;
use eventosaurus::query::{
    collect_items, count_items, Condition, Plan, QueryOptions, RawPages, Select,
};
use eventosaurus::table::{self, Billing, CreateOutcome, Drift, TableDef, TtlOutcome};
use eventosaurus::Store;
use serde::Serialize;
use serde_json::{json, Value};

use crate::{CliError, QueryArgs};

/// Text printed with item counts: they come from DescribeTable's `ItemCount`.
pub const ITEM_COUNT_NOTE: &str =
    "item counts are DynamoDB's ItemCount: approximate, refreshed about every six hours";

fn tables(n: usize) -> String {
    if n == 1 {
        "1 table".to_owned()
    } else {
        format!("{n} tables")
    }
}

fn registered_tables(n: usize) -> String {
    if n == 1 {
        "1 registered table".to_owned()
    } else {
        format!("{n} registered tables")
    }
}

fn require_registered(defs: &[&'static TableDef]) -> Result<(), CliError> {
    if defs.is_empty() {
        Err(CliError::NoRegisteredTables)
    } else {
        Ok(())
    }
}

fn billing_label(billing: Billing) -> String {
    match billing {
        Billing::OnDemand => "on-demand (PAY_PER_REQUEST)".to_owned(),
        Billing::Provisioned { read, write } => {
            format!("provisioned ({read} read, {write} write units)")
        }
    }
}

/// `create-tables`: creates every table in `defs` that is missing, waits until it is ACTIVE,
/// adds the global secondary indexes an existing table lacks (waiting until each is built,
/// with progress on `progress`, e.g. standard error), turns on the time to live of expiring
/// events, and reports each table as it goes. Existing tables are reported, not an error.
pub async fn create_tables(
    store: &Store,
    defs: &[&'static TableDef],
    billing: Billing,
    stream: Option<eventosaurus::table_stream::StreamSpec>,
    out: &mut dyn Write,
    progress: &mut (dyn Write + Send),
) -> Result<Vec<(&'static TableDef, CreateOutcome)>, CliError> {
    require_registered(defs)?;
    writeln!(
        out,
        "creating {} with prefix `{}`, billing {}:",
        tables(defs.len()),
        store.environment_prefix(),
        billing_label(billing)
    )?;
    let mut done = Vec::new();
    for def in defs {
        write!(out, "  {} ({}) ... ", store.table_name(def), def.event_type)?;
        out.flush()?;
        let started = Instant::now();
        let mut reporter = IndexReporter::new(progress);
        let ready =
            table::ensure_table(store, def, billing, stream, &mut |p| reporter.report(p)).await;
        let ready = match ready {
            Ok(ready) => ready,
            Err(err) => {
                writeln!(out, "failed")?;
                return Err(err.into());
            }
        };
        match ready.outcome {
            CreateOutcome::Created => write!(
                out,
                "created, ACTIVE after {:.1}s",
                started.elapsed().as_secs_f64()
            )?,
            CreateOutcome::AlreadyExists => write!(out, "already exists, ACTIVE")?,
        }
        for index in &ready.added_indexes {
            write!(out, ", index {index} added")?;
        }
        match &ready.time_to_live {
            TtlOutcome::Enabled { attribute } => {
                write!(out, ", time to live enabled on {attribute}")?
            }
            TtlOutcome::AlreadyEnabled { attribute } => {
                write!(out, ", time to live on {attribute}")?
            }
            TtlOutcome::Left { status, attribute } => write!(
                out,
                ", time to live left {status} on {} (see check-tables)",
                attribute.as_deref().unwrap_or("no attribute")
            )?,
            _ => {}
        }
        writeln!(out)?;
        done.push((*def, ready.outcome));
    }
    let created = done
        .iter()
        .filter(|(_, o)| *o == CreateOutcome::Created)
        .count();
    writeln!(
        out,
        "{} ready: {created} created, {} already existed",
        tables(done.len()),
        done.len() - created
    )?;
    Ok(done)
}

/// Prints the progress of an index being added: when its status or backfilling changes, and
/// every ten seconds while it waits.
struct IndexReporter<'a> {
    out: &'a mut (dyn Write + Send),
    last: Option<(String, bool)>,
    last_line: Option<std::time::Duration>,
}

impl<'a> IndexReporter<'a> {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(10);

    fn new(out: &'a mut (dyn Write + Send)) -> Self {
        IndexReporter {
            out,
            last: None,
            last_line: None,
        }
    }

    fn report(&mut self, progress: &table::IndexProgress<'_>) {
        let status = progress.status.unwrap_or("not there yet").to_owned();
        let state = (status.clone(), progress.backfilling);
        let due = self
            .last_line
            .is_none_or(|at| progress.waited >= at + Self::EVERY);
        if self.last.as_ref() == Some(&state) && !due {
            return;
        }
        let backfilling = if progress.backfilling {
            ", backfilling"
        } else {
            ""
        };
        let items = progress
            .item_count
            .map(|n| format!(", ~{n} items"))
            .unwrap_or_default();
        // Progress is best effort: a closed standard error must not fail the command.
        let _ = writeln!(
            self.out,
            "index {} of {}: {status}{backfilling}{items} ({:.1}s)",
            progress.index,
            progress.table,
            progress.waited.as_secs_f64()
        );
        let _ = self.out.flush();
        self.last = Some(state);
        self.last_line = Some(progress.waited);
    }
}

/// One row of `list-tables`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedTable {
    /// The full table name.
    pub table_name: String,
    /// Whether a registered event type declares this exact name.
    pub registered: bool,
    /// That event type, e.g. `PhoneCall`.
    pub event_type: Option<&'static str>,
    /// Whether the table exists (a registered table may not, yet).
    pub exists: bool,
    /// `ACTIVE`, `CREATING`, ...; `None` when it does not exist.
    pub status: Option<String>,
    /// DescribeTable's `ItemCount` (approximate).
    pub item_count: Option<i64>,
}

/// The tables named `<prefix>_…` (all pages of ListTables), plus the registered tables that do
/// not exist yet, with status and approximate item count.
pub async fn table_rows(
    store: &Store,
    defs: &[&'static TableDef],
) -> Result<Vec<ListedTable>, CliError> {
    let prefix = store.environment_prefix();
    let mut rows: BTreeMap<String, ListedTable> = BTreeMap::new();
    for name in table::list_tables(store).await? {
        let def = defs.iter().find(|d| d.full_name(prefix) == name);
        let live = table::describe_table_named(store, &name).await?;
        rows.insert(
            name.clone(),
            ListedTable {
                table_name: name,
                registered: def.is_some(),
                event_type: def.map(|d| d.event_type),
                exists: live.is_some(),
                status: live
                    .as_ref()
                    .and_then(|l| l.table_status())
                    .map(|s| s.as_str().to_owned()),
                item_count: live.as_ref().and_then(|l| l.item_count()),
            },
        );
    }
    for def in defs {
        let name = def.full_name(prefix);
        rows.entry(name.clone()).or_insert(ListedTable {
            table_name: name,
            registered: true,
            event_type: Some(def.event_type),
            exists: false,
            status: None,
            item_count: None,
        });
    }
    Ok(rows.into_values().collect())
}

/// `list-tables`: every table named `<prefix>_…`, marking those a registered event type
/// declares, with status and approximate item count; registered tables that are missing too.
pub async fn list_tables(
    store: &Store,
    defs: &[&'static TableDef],
    json: bool,
    out: &mut dyn Write,
) -> Result<Vec<ListedTable>, CliError> {
    let prefix = store.environment_prefix();
    let rows = table_rows(store, defs).await?;
    if json {
        #[derive(Serialize)]
        struct TableList<'a> {
            prefix: &'a str,
            item_count_is_approximate: bool,
            tables: &'a [ListedTable],
        }
        let doc = TableList {
            prefix,
            item_count_is_approximate: true,
            tables: &rows,
        };
        writeln!(out, "{}", to_json(&doc)?)?;
        return Ok(rows);
    }
    let width = rows
        .iter()
        .map(|r| r.table_name.len())
        .max()
        .unwrap_or(0)
        .max("TABLE".len());
    let type_width = rows
        .iter()
        .filter_map(|r| r.event_type.map(str::len))
        .max()
        .unwrap_or(0)
        .max("EVENT TYPE".len());
    writeln!(
        out,
        "{:width$}  {:type_width$}  {:9}  ITEMS",
        "TABLE", "EVENT TYPE", "STATUS"
    )?;
    for row in &rows {
        writeln!(
            out,
            "{:width$}  {:type_width$}  {:9}  {}",
            row.table_name,
            row.event_type.unwrap_or("-"),
            row.status.as_deref().unwrap_or("missing"),
            row.item_count
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".to_owned()),
        )?;
    }
    let existing = rows.iter().filter(|r| r.exists).count();
    let registered = rows.iter().filter(|r| r.registered && r.exists).count();
    let missing = rows.iter().filter(|r| r.registered && !r.exists).count();
    write!(
        out,
        "{} named `{prefix}_*`: {registered} declared by registered event types, {} not",
        tables(existing),
        existing - registered
    )?;
    if missing > 0 {
        write!(
            out,
            "; {} missing (run create-tables)",
            registered_tables(missing)
        )?;
    }
    writeln!(out, "\n{ITEM_COUNT_NOTE}")?;
    Ok(rows)
}

/// `describe-tables`: the CreateTable definition of every registered table, as a JSON array
/// (each element is a CreateTable request, e.g. for `aws dynamodb create-table --cli-input-json`).
/// A table whose events expire also needs an UpdateTimeToLive after it, which CreateTable
/// cannot carry: it is written to `notes` (standard error), one JSON request per line.
pub fn describe_tables(
    store: &Store,
    defs: &[&'static TableDef],
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> Result<Value, CliError> {
    require_registered(defs)?;
    let specs: Vec<_> = defs
        .iter()
        .map(|d| d.spec(store.environment_prefix(), Billing::OnDemand))
        .collect();
    // Serialized from the structs, so the keys keep the API's order (TableName first).
    writeln!(out, "{}", to_json(&specs)?)?;
    for spec in &specs {
        if let Some(ttl) = &spec.time_to_live {
            let request = json!({
                "TableName": spec.table_name,
                "TimeToLiveSpecification": ttl,
            });
            writeln!(
                notes,
                "{} expires its events: after CreateTable, create-tables sends UpdateTimeToLive {request}",
                spec.table_name
            )?;
        }
    }
    Ok(serde_json::to_value(&specs).map_err(std::io::Error::other)?)
}

/// `describe-tables --definitions`: the table definitions in the format of `--tables FILE`
/// (see [`definitions`](crate::definitions)), e.g. to write the `eventosaurus-tables.json`
/// that the `eventosaurus-cli` binary reads.
pub fn describe_definitions(
    defs: &[&'static TableDef],
    out: &mut dyn Write,
) -> Result<(), CliError> {
    require_registered(defs)?;
    write!(out, "{}", crate::definitions::to_json(defs))?;
    Ok(())
}

fn to_json(value: &impl Serialize) -> std::io::Result<String> {
    serde_json::to_string_pretty(value).map_err(std::io::Error::other)
}

/// `describe-tables --live`: for every registered table, `{"EventType", "EventVersion",
/// "TableName", "Table", "TimeToLiveDescription"}` where `Table` is the live DescribeTable and
/// `TimeToLiveDescription` the live DescribeTimeToLive in the API's JSON shape, or `null` if
/// the table is missing.
pub async fn describe_live_tables(
    store: &Store,
    defs: &[&'static TableDef],
    out: &mut dyn Write,
) -> Result<Value, CliError> {
    require_registered(defs)?;
    let mut tables = Vec::new();
    for def in defs {
        let live = table::describe_table(store, def).await?;
        let time_to_live = match &live {
            Some(_) => table::describe_time_to_live(store, &store.table_name(def)).await?,
            None => None,
        };
        tables.push(json!({
            "EventType": def.event_type,
            "EventVersion": def.version,
            "TableName": store.table_name(def),
            "Table": live.as_ref().map(crate::json::table_description),
            "TimeToLiveDescription": time_to_live.as_ref().map(crate::json::time_to_live),
        }));
    }
    let doc = Value::Array(tables);
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?
    )?;
    Ok(doc)
}

/// The result of checking one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The full table name.
    pub table_name: String,
    /// The event type declaring it.
    pub event_type: &'static str,
    /// Whether the live table matches its definition.
    pub ok: bool,
    /// How it differs; empty when `ok`.
    pub drift: Vec<Drift>,
}

/// One line describing a drift.
pub fn describe_drift(drift: &Drift) -> String {
    drift.to_string()
}

/// `check-tables`: compares each registered table with its definition (missing table, wrong
/// key schema, missing LSI or GSI, stream, time to live). Returns the checks, or
/// [`CliError::Drift`] if any table drifted.
pub async fn check_tables(
    store: &Store,
    defs: &[&'static TableDef],
    json: bool,
    out: &mut dyn Write,
) -> Result<Vec<Check>, CliError> {
    require_registered(defs)?;
    let mut checks = Vec::new();
    for def in defs {
        let drift = table::check_table(store, def).await?;
        checks.push(Check {
            table_name: store.table_name(def),
            event_type: def.event_type,
            ok: drift.is_empty(),
            drift,
        });
    }
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&checks).map_err(std::io::Error::other)?
        )?;
    } else {
        for check in &checks {
            if check.ok {
                writeln!(out, "{} ({}): ok", check.table_name, check.event_type)?;
            }
            for drift in &check.drift {
                writeln!(
                    out,
                    "{} ({}): {}",
                    check.table_name,
                    check.event_type,
                    describe_drift(drift)
                )?;
            }
        }
    }
    let drifted = checks.iter().filter(|c| !c.ok).count();
    if drifted > 0 {
        return Err(CliError::Drift {
            drifted,
            total: checks.len(),
        });
    }
    if !json {
        writeln!(
            out,
            "all {} match their definitions",
            registered_tables(checks.len())
        )?;
    }
    Ok(checks)
}

/// How `drop-tables` gets its go-ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// `--yes`: drop without asking.
    Yes,
    /// `--dry-run`: only list what would be dropped.
    DryRun,
    /// Ask on the terminal; refuse when standard input is not a terminal.
    AskOnTerminal,
}

/// Asks `question` on `prompt` and reads one line from `input`: `y` or `yes` (any case) is yes.
pub fn ask(
    question: &str,
    input: &mut dyn BufRead,
    prompt: &mut dyn Write,
) -> std::io::Result<bool> {
    write!(prompt, "{question} [y/N] ")?;
    prompt.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// What `drop-tables` found under a prefix, before anything is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropPlan {
    /// The registered tables that exist with the event type's own schema: `(definition,
    /// approximate item count)`.
    pub ours: Vec<(&'static TableDef, Option<i64>)>,
    /// The registered tables that exist but whose key schema or `created_at_index` is not the
    /// event type's own: never dropped.
    pub drifted: Vec<(&'static TableDef, Vec<Drift>)>,
    /// The other tables named `<prefix>_…`: not touched.
    pub kept: Vec<String>,
}

/// Finds what `drop-tables` would drop: each registered table by its exact name (DescribeTable
/// of `<prefix>_<table>`, never a listing filter), checked against its definition.
pub async fn drop_plan(store: &Store, defs: &[&'static TableDef]) -> Result<DropPlan, CliError> {
    let prefix = store.environment_prefix();
    let mut plan = DropPlan {
        ours: Vec::new(),
        drifted: Vec::new(),
        kept: Vec::new(),
    };
    for def in defs {
        let Some(live) = table::describe_table(store, def).await? else {
            continue;
        };
        // Only the key schema says whose table it is: a missing stream or GSI does not.
        let drift: Vec<_> = table::drift(&def.spec(prefix, Billing::OnDemand), Some(&live))
            .into_iter()
            .filter(Drift::is_in_key_schema)
            .collect();
        if drift.is_empty() {
            plan.ours.push((*def, live.item_count()));
        } else {
            plan.drifted.push((*def, drift));
        }
    }
    let own_names: Vec<String> = defs.iter().map(|d| d.full_name(prefix)).collect();
    plan.kept = table::list_tables(store)
        .await?
        .into_iter()
        .filter(|n| !own_names.contains(n))
        .collect();
    Ok(plan)
}

fn write_drop_plan(
    plan: &DropPlan,
    prefix: &str,
    registered: usize,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if plan.ours.is_empty() && plan.drifted.is_empty() {
        writeln!(
            out,
            "nothing to drop: none of the {} exists with prefix `{prefix}`",
            registered_tables(registered)
        )?;
    } else if !plan.ours.is_empty() {
        writeln!(
            out,
            "tables to drop (prefix `{prefix}`, declared by registered event types):"
        )?;
        for (def, items) in &plan.ours {
            let items = items
                .map(|c| format!(", ~{c} item{}", if c == 1 { "" } else { "s" }))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} ({}{items})",
                def.full_name(prefix),
                def.event_type
            )?;
        }
    }
    if !plan.drifted.is_empty() {
        writeln!(
            out,
            "refusing to drop (the live schema is not the event type's own):"
        )?;
        for (def, drifts) in &plan.drifted {
            for drift in drifts {
                writeln!(
                    out,
                    "  {} ({}): {}",
                    def.full_name(prefix),
                    def.event_type,
                    describe_drift(drift)
                )?;
            }
        }
    }
    if !plan.kept.is_empty() {
        writeln!(
            out,
            "not touched (no registered event type declares them): {}",
            plan.kept.join(", ")
        )?;
    }
    Ok(())
}

/// `drop-tables`: deletes the tables whose exact name is `<prefix>_<table>` for a registered
/// event type and whose live key schema and `created_at_index` are that event type's own,
/// and nothing else. Lists them first; a registered name whose live table has another schema
/// is [`CliError::DropRefused`] and nothing is dropped. Then drops them (`Confirm::Yes`), only
/// lists them (`Confirm::DryRun`) or asks on the terminal (`Confirm::AskOnTerminal`, refusing
/// with [`CliError::NotConfirmed`] when standard input is not a terminal). Returns the
/// dropped names.
pub async fn drop_tables(
    store: &Store,
    defs: &[&'static TableDef],
    confirm: Confirm,
    out: &mut dyn Write,
) -> Result<Vec<String>, CliError> {
    require_registered(defs)?;
    let prefix = store.environment_prefix();
    let plan = drop_plan(store, defs).await?;
    write_drop_plan(&plan, prefix, defs.len(), out)?;
    if !plan.drifted.is_empty() {
        return Err(CliError::DropRefused {
            tables: plan
                .drifted
                .iter()
                .map(|(def, _)| def.full_name(prefix))
                .collect(),
        });
    }
    if plan.ours.is_empty() {
        return Ok(Vec::new());
    }
    match confirm {
        Confirm::DryRun => {
            writeln!(out, "dry run: nothing was dropped")?;
            return Ok(Vec::new());
        }
        Confirm::AskOnTerminal => {
            out.flush()?;
            let stdin = std::io::stdin();
            if !stdin.is_terminal() {
                return Err(CliError::NotConfirmed {
                    count: plan.ours.len(),
                });
            }
            let question = format!(
                "drop these {} and all their events?",
                tables(plan.ours.len())
            );
            if !ask(&question, &mut stdin.lock(), &mut std::io::stderr())? {
                return Err(CliError::Cancelled);
            }
        }
        Confirm::Yes => {}
    }
    let mut dropped = Vec::new();
    for (def, _) in &plan.ours {
        let name = def.full_name(prefix);
        write!(out, "  dropping {name} ... ")?;
        out.flush()?;
        if table::delete_table(store, def).await? {
            table::wait_until_deleted(store, &name, table::DELETED_TIMEOUT).await?;
            writeln!(out, "dropped")?;
        } else {
            writeln!(out, "already gone")?;
        }
        dropped.push(name);
    }
    writeln!(out, "{} dropped", tables(dropped.len()))?;
    Ok(dropped)
}

/// A parsed `query`: the table, its conditions and what to print.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// The registered table.
    pub def: &'static TableDef,
    /// The conditions (all must hold), typed by the table's attributes.
    pub conditions: Vec<Condition>,
    /// Limit, order, consistency, scan permission.
    pub options: QueryOptions,
    /// What to print.
    pub output: QueryOutput,
}

/// What `query` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOutput {
    /// A table of events, then how many (the default).
    Table,
    /// One JSON object per event and line (`--json`).
    JsonLines,
    /// How many events match (`--count`); as `{"count": N}` with `json`.
    Count {
        /// `--json` was given too.
        json: bool,
    },
    /// The planned request as JSON, not sent (`--explain`); planned with `Select=COUNT` if
    /// `count`.
    Explain {
        /// `--count` was given too.
        count: bool,
    },
}

/// The registered table named `name` (the logical name, without prefix), or a usage error
/// listing the registered names.
pub fn registered_table(
    defs: &[&'static TableDef],
    name: &str,
) -> Result<&'static TableDef, CliError> {
    require_registered(defs)?;
    defs.iter()
        .copied()
        .find(|d| d.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = defs.iter().map(|d| d.name).collect();
            let hint = if name.contains('_')
                && defs.iter().any(|d| name.ends_with(&format!("_{}", d.name)))
            {
                " (give the table name without the prefix; the prefix comes from --prefix)"
            } else {
                ""
            };
            CliError::Usage(format!(
                "no registered table `{name}`{hint}; the registered tables are: {}",
                names.join(", ")
            ))
        })
}

impl QueryRequest {
    /// Checks the arguments of `query` against the registered tables: usage errors (an
    /// unregistered table, a malformed or unknown `--by`, `--limit 0`) come out here,
    /// before anything is sent.
    pub fn from_args(defs: &[&'static TableDef], args: &QueryArgs) -> Result<Self, CliError> {
        let def = registered_table(defs, &args.table)?;
        let conditions = args
            .by
            .iter()
            .map(|text| {
                Condition::parse(def, text)
                    .map_err(|e| CliError::Usage(format!("invalid --by {text:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if args.limit == Some(0) {
            return Err(CliError::Usage("--limit must be at least 1".to_owned()));
        }
        let output = match (args.explain, args.count, args.json) {
            (true, count, _) => QueryOutput::Explain { count },
            (false, true, json) => QueryOutput::Count { json },
            (false, false, true) => QueryOutput::JsonLines,
            (false, false, false) => QueryOutput::Table,
        };
        Ok(QueryRequest {
            def,
            conditions,
            options: QueryOptions {
                limit: args.limit,
                descending: args.desc,
                consistent_read: args.consistent_read,
                allow_scan: args.allow_scan,
                ..QueryOptions::default()
            },
            output,
        })
    }

    /// The plan, exactly as the typed builder would make it for the same conditions.
    pub fn plan(&self, environment_prefix: &str) -> Result<Plan, CliError> {
        let select = match self.output {
            QueryOutput::Count { .. } | QueryOutput::Explain { count: true } => Select::Count,
            _ => Select::Items,
        };
        Plan::build(
            self.def,
            environment_prefix,
            &self.conditions,
            &self.options,
            select,
        )
        .map_err(|err| match err {
            eventosaurus::Error::ScanRequired {
                table,
                partition_key,
            } => CliError::ScanRefused {
                table,
                reason: format!("there is no EQ condition on the partition key `{partition_key}`"),
                partition_key,
            },
            other => other.into(),
        })
    }
}

/// `query`: plans the conditions with the library's planner and runs the plan with its
/// executor (or only prints the plan). Returns how many events matched (0 for `--explain`).
pub async fn query(
    store: &Store,
    request: &QueryRequest,
    out: &mut dyn Write,
) -> Result<u64, CliError> {
    let plan = request.plan(store.environment_prefix())?;
    match request.output {
        QueryOutput::Explain { .. } => {
            writeln!(out, "{}", to_json(&plan)?)?;
            Ok(0)
        }
        QueryOutput::Count { json } => {
            let count = count_items(store.backend().clone(), plan).await?;
            if json {
                writeln!(out, "{}", json!({ "count": count }))?;
            } else {
                writeln!(out, "{count}")?;
            }
            Ok(count)
        }
        QueryOutput::JsonLines => {
            // Page by page, so that a large result starts printing at once.
            let mut pages = RawPages::new(store.backend().clone(), plan);
            let mut n = 0;
            while let Some(page) = pages.next_page().await {
                for item in page?.items {
                    writeln!(out, "{}", crate::json::item_to_plain_json(&item))?;
                    n += 1;
                }
            }
            Ok(n)
        }
        QueryOutput::Table => {
            let operation = plan.operation.as_str();
            let via = plan
                .index
                .as_ref()
                .map(|i| format!(" on index {i}"))
                .unwrap_or_default();
            let table_name = plan.table.clone();
            let items = collect_items(store.backend().clone(), plan).await?;
            write_item_table(request.def, &items, out)?;
            writeln!(
                out,
                "{} ({operation} of {table_name}{via})",
                match items.len() {
                    1 => "1 event".to_owned(),
                    n => format!("{n} events"),
                }
            )?;
            Ok(items.len() as u64)
        }
    }
}

/// The events as an aligned table: the partition key, `created_at`, `event_uuid`, then the
/// other attributes in declaration order (and any undeclared ones, by name).
fn write_item_table(def: &TableDef, items: &[Item], out: &mut dyn Write) -> Result<(), CliError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut columns: Vec<String> = vec![
        def.partition_key.to_owned(),
        table::CREATED_AT.to_owned(),
        table::EVENT_UUID.to_owned(),
    ];
    for attribute in def.attributes {
        if !columns.iter().any(|c| c == attribute.name) {
            columns.push(attribute.name.to_owned());
        }
    }
    let mut extra: Vec<&String> = items
        .iter()
        .flat_map(|item| item.keys())
        .filter(|k| !columns.contains(k))
        .collect();
    extra.sort();
    extra.dedup();
    columns.extend(extra.into_iter().cloned());
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| {
                    item.get(c)
                        .map(crate::json::attribute_to_text)
                        .unwrap_or_else(|| "-".to_owned())
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut line = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        line.truncate(line.trim_end().len());
        line
    };
    let header: Vec<String> = columns.iter().map(|c| c.to_ascii_uppercase()).collect();
    writeln!(out, "{}", line(&header))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ask_accepts_only_yes() {
        for (answer, expected) in [
            ("y\n", true),
            ("YES\n", true),
            (" yes \n", true),
            ("n\n", false),
            ("\n", false),
            ("", false),
            ("yess\n", false),
        ] {
            let mut prompt = Vec::new();
            assert_eq!(
                ask("drop?", &mut answer.as_bytes(), &mut prompt).unwrap(),
                expected,
                "{answer:?}"
            );
            assert_eq!(String::from_utf8(prompt).unwrap(), "drop? [y/N] ");
        }
    }

    #[test]
    fn drift_lines_are_one_line() {
        for drift in [
            Drift::MissingTable,
            Drift::MissingIndex {
                index: table::CREATED_AT_INDEX.into(),
            },
        ] {
            assert!(!describe_drift(&drift).contains('\n'));
        }
    }
}
