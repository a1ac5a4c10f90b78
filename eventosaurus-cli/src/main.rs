//! The `eventosaurus-cli` binary. It has no event types compiled in: it acts on the table
//! definitions of `--tables FILE`, or else of the nearest `eventosaurus-tables.json` in the
//! current directory or its parents (see the library's `definitions` module). An application
//! builds a CLI that knows its own events with `eventosaurus_cli::run(&[MyEvent::TABLE, ..])`.
//!
//! In the eventosaurus repository, `eventosaurus-tables.json` at the root holds the example
//! events' definitions, so `cargo run -p eventosaurus-cli -- create-tables` acts on them.
//!
//! The binary owns the process: its panic hook reports a bug as one line, and `main` returns
//! the exit code.

use std::process::ExitCode;

use eventosaurus_cli::definitions;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!(
            "error: internal error: {message}{at} (a bug in eventosaurus-cli, please report it)"
        );
    }));
    let found = std::env::current_dir()
        .ok()
        .and_then(|dir| definitions::find(&dir));
    let tables = match found.map(|path| definitions::load(&path)) {
        None => Vec::new(),
        Some(Ok(tables)) => tables,
        Some(Err(err)) => return eventosaurus_cli::report(&err),
    };
    // A panic has been reported by the hook; it still fails the run.
    std::panic::catch_unwind(|| eventosaurus_cli::run(&tables))
        .unwrap_or(ExitCode::from(eventosaurus_cli::EXIT_FAILURE))
}
