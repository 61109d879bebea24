//! One module per subcommand; this one only dispatches.

mod decrypt;
mod demo;
mod findings;
mod replay;
mod run;
mod transform_event;

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;

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
    }
}

/// Reads a whole file, or stdin for `None` and `-`.
fn read_input(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match path {
        None => std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading stdin")?,
        Some(p) if p == Path::new("-") => std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading stdin")?,
        Some(p) => return std::fs::read(p).with_context(|| format!("cannot read {}", p.display())),
    };
    Ok(bytes)
}

/// Checks that a path is a file (a clearer message than a loader's when the
/// path is simply wrong).
fn ensure_file(path: &Path, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(path.is_file(), "{what} {} does not exist", path.display());
    Ok(())
}

/// A receiver that turns true on the first SIGINT or SIGTERM.
fn stop_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
        eprintln!("cdc-mask: stopping: delivering what was read");
        let _ = tx.send(true);
    });
    rx
}

/// Resolves once `stop` is true (never if its sender is gone first).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}
