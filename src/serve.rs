//! The connection loop. `axum::serve` gives no access to hyper's builder,
//! and without a timer hyper never times out a request head, so a client
//! that sends its headers one byte at a time (slowloris), or connects and
//! sends nothing, would hold a connection forever. This loop is axum's,
//! plus that timer and a header timeout; it also stamps each request with
//! the peer address (`ConnectInfo`) and the client's (`ClientIp`, which
//! differs behind a trusted proxy). Graceful shutdown is hyper-util's
//! `GracefulShutdown`.
//!
//! It speaks HTTP/1.1 only (with upgrades, for WebSockets): browsers use
//! HTTP/2 over TLS, which the proxy in front terminates, and hyper has no
//! request-head timeout for cleartext HTTP/2, so a client could hold such
//! a connection open without ever sending a request. Connections are
//! served by hyper-util's `auto` builder (the one `GracefulShutdown` can
//! watch with upgrades) restricted to HTTP/1.1; that builder first reads
//! far enough to tell an HTTP/2 preface from a request line, with no
//! timer, so `opening` below does that part itself, under the header
//! timeout, and closes HTTP/2 connections at once.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::client_addr::TrustedProxies;

/// How long a client has to send a complete request head (and, on a new
/// connection, its first byte).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How a connection opens.
#[derive(Debug, PartialEq, Eq)]
enum Opening {
    Http1,
    Http2,
    Closed,
}

/// The HTTP/2 connection preface (RFC 9113, section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Peeks (without consuming) until the first bytes differ from the HTTP/2
/// preface (an HTTP/1.1 request line: usually the first byte) or match it
/// whole. The caller bounds the wait.
async fn opening(stream: &tokio::net::TcpStream) -> std::io::Result<Opening> {
    let mut buf = [0u8; H2_PREFACE.len()];
    let mut pause = Duration::from_millis(2);
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Ok(Opening::Closed);
        }
        if buf[..n] != H2_PREFACE[..n] {
            return Ok(Opening::Http1);
        }
        if n == H2_PREFACE.len() {
            return Ok(Opening::Http2);
        }
        // A prefix of the preface so far. A peek leaves the bytes unread,
        // so the socket stays readable: poll again after a growing pause
        // (only HTTP/2 clients and stallers get here; HTTP/1.1 request
        // lines differ from the preface by their second byte at most).
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open
/// connections finish their requests and waits for them.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    proxies: TrustedProxies,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off a little.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let proxies = proxies.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HEADER_READ_TIMEOUT, opening(&stream)).await {
                Ok(Ok(Opening::Http1)) => {}
                _ => return, // silent, slow, HTTP/2, closed or failed
            }
            let service = app.map_request(move |mut req: Request<Incoming>| {
                let client = proxies.client(peer.ip(), req.headers());
                let extensions = req.extensions_mut();
                extensions.insert(ConnectInfo::<SocketAddr>(peer));
                extensions.insert(client);
                req
            });
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            if let Err(e) = watcher.watch(connection).await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
