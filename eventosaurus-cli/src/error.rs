//! The CLI's one error type and its exit codes.

use std::fmt::Write as _;

/// Exit code of a successful run.
pub const EXIT_OK: u8 = 0;
/// Exit code of a failure: DynamoDB errors, drift found, a drop not confirmed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error: bad arguments, or a missing or invalid prefix or endpoint.
pub const EXIT_USAGE: u8 = 2;

/// Everything that can make a command fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Neither `--prefix` nor `EVENT_ENVIRONMENT_PREFIX` was given.
    #[error(
        "no environment prefix: set EVENT_ENVIRONMENT_PREFIX or pass --prefix \
         (tables are named <prefix>_<table>, e.g. --prefix localhost)"
    )]
    MissingPrefix,

    /// The prefix, endpoint or region given is not usable.
    #[error(transparent)]
    Config(eventosaurus::Error),

    /// The arguments make no sense together (clap reports the rest itself).
    #[error("{0}")]
    Usage(String),

    /// The CLI was given no table definitions.
    #[error(
        "no table definitions: this binary knows no event types. Build your application's \
         CLI with `eventosaurus_cli::run(&[MyEvent::TABLE, ..])` in a binary that depends on \
         your events, or give this one the definitions that binary prints with \
         `describe-tables --definitions`: --tables FILE, or a file named {file} in this \
         directory or a parent",
        file = crate::definitions::FILE_NAME
    )]
    NoRegisteredTables,

    /// A table definitions file (`--tables FILE` or `eventosaurus-tables.json`) is unusable.
    #[error("table definitions in {}: {reason}", path.display())]
    Definitions {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A DynamoDB or library error.
    #[error(transparent)]
    Eventosaurus(#[from] eventosaurus::Error),

    /// `check-tables` found live tables that differ from their definitions.
    #[error("{drifted} of {total} registered tables differ from their definitions")]
    Drift {
        /// How many tables have drift.
        drifted: usize,
        /// How many tables were checked.
        total: usize,
    },

    /// `drop-tables` was not confirmed and standard input is not a terminal.
    #[error(
        "refusing to drop {count} table(s) without confirmation: standard input is not a \
         terminal; pass --yes to drop them (or --dry-run to only list them)"
    )]
    NotConfirmed {
        /// How many tables would have been dropped.
        count: usize,
    },

    /// `drop-tables` found registered table names whose live schema is not the event
    /// type's own; nothing was dropped.
    #[error(
        "refusing to drop {}: the live key schema or created_at_index is not the event \
         type's own (listed above), so it may hold something else; nothing was dropped. \
         Inspect it with check-tables and describe-tables --live, and delete it by hand if \
         it really is to go",
        tables.join(", ")
    )]
    DropRefused {
        /// The full names of the refused tables.
        tables: Vec<String>,
    },

    /// The question of `drop-tables` was answered with something other than yes.
    #[error("not confirmed: nothing was dropped")]
    Cancelled,

    /// `query` has no EQ condition on the partition key and `--allow-scan` was not given.
    #[error(
        "refusing to Scan `{table}`: {reason}; a query reads one partition and needs an EQ \
         condition on the partition key (e.g. --by {partition_key}=VALUE); pass --allow-scan to \
         read the whole table with the conditions as a filter"
    )]
    ScanRefused {
        /// The full table name.
        table: String,
        /// Why the query is not a Query.
        reason: String,
        /// The partition key attribute.
        partition_key: String,
    },

    /// Writing the output (or reading the answer) failed.
    #[error("could not write output: {0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code for this error: [`EXIT_USAGE`] for usage and configuration
    /// errors, [`EXIT_FAILURE`] for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::MissingPrefix
            | CliError::Config(_)
            | CliError::Usage(_)
            | CliError::Definitions { .. } => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    /// The error and its causes on one line, e.g. for `error: {}`.
    ///
    /// Causes whose text the message already contains are skipped; line breaks become spaces.
    pub fn one_line(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !text.is_empty() && !line.contains(&text) {
                let _ = write!(line, ": {text}");
            }
            source = cause.source();
        }
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_prefix_names_variable_and_flag() {
        let err = CliError::MissingPrefix;
        let line = err.one_line();
        assert!(
            line.contains("EVENT_ENVIRONMENT_PREFIX") && line.contains("--prefix"),
            "{line}"
        );
        assert_eq!(err.exit_code(), EXIT_USAGE);
    }

    #[test]
    fn one_line_joins_causes_without_repeating_them() {
        let inner = std::io::Error::other("connection\nrefused");
        let err = CliError::Io(inner);
        assert_eq!(err.one_line(), "could not write output: connection refused");
        assert_eq!(err.exit_code(), EXIT_FAILURE);
    }
}
