//! Serving connections: the router on hyper with a header-read timeout, because `axum::serve`
//! gives hyper no timer, and without one a client that never finishes its headers (slow-loris)
//! holds its connection for ever.

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
};
use std::{future::Future, pin::pin, time::Duration};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt as _;

/// Answers connections on `listener` with `router` until `shutdown` resolves, then lets the
/// requests in flight finish. Each request carries its peer as `ConnectInfo<SocketAddr>`,
/// as with `into_make_service_with_connect_info`.
pub async fn serve(listener: TcpListener, router: Router, header_read_timeout: Duration, shutdown: impl Future<Output = ()>) {
    // `stop` tells connections to finish; `running` is held by each one, so its sender's
    // `closed()` resolves once the last has.
    let (stop_tx, stop_rx) = watch::channel(());
    let (running_tx, running_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let mut stop = stop_rx.clone();
        let running = running_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request.map(Body::new))
            });
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
            let mut connection = pin!(builder.serve_connection_with_upgrades(TokioIo::new(stream), service));
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(error = %error, "a connection ended with an error");
            }
            drop(running);
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(running_rx);
    running_tx.closed().await;
}
