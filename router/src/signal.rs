//! SIGINT and SIGTERM as a stop: `run` and `replay` stop reading, deliver
//! (and checkpoint) what they read, then print their summary.

use tokio::sync::watch;

/// A receiver that turns true on the first SIGINT or SIGTERM.
pub fn stop_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
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
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}
