//! Every log line a piece of a test writes, captured at every level.

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `journey` on a current-thread runtime of its own, which keeps every event (of spawned
/// tasks too) on this thread's subscriber, and returns what was logged.
pub fn logs_of<F: std::future::Future<Output = ()>>(journey: impl FnOnce() -> F) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(journey());
    });
    String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
}
