//! The shop's eventosaurus CLI: `shop-events --prefix staging create-tables`, and every other
//! command, for the event types of the shop's library.

fn main() -> std::process::ExitCode {
    eventosaurus_cli::run(shop::TABLES)
}
