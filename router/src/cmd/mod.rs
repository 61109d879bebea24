//! One module per subcommand, each mapping its arguments to the work (for
//! `run` and `replay`, a `Plan`); this one only
//! dispatches.

mod decrypt;
mod demo;
mod findings;
mod quarantine;
mod replay;
mod run;
mod shared;
mod transform_event;

use crate::cli::Command;

/// Runs a subcommand.
///
/// # Errors
/// Whatever stops the command, as one line for people.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::TransformEvent(args) => transform_event::run(args).await,
        Command::Decrypt(args) => decrypt::run(args).await,
        Command::Findings(args) => findings::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Quarantine(command) => quarantine::run(command).await,
    }
}
