//! One HTTP/1.1 keep-alive connection, driven by hyper's client connection
//! API: a load worker owns one and sends its requests one after another,
//! as a browser tab or bot with a pooled connection does.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// What to send: built once per request by a scenario.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub token: Option<String>,
    pub body: Option<Bytes>,
}

impl Call {
    pub fn get(path: impl Into<String>, token: Option<&str>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            token: token.map(str::to_owned),
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, token: Option<&str>, body: &Value) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            token: token.map(str::to_owned),
            body: Some(Bytes::from(body.to_string())),
        }
    }

    pub fn delete(path: impl Into<String>, token: Option<&str>) -> Self {
        Self {
            method: Method::DELETE,
            ..Self::get(path, token)
        }
    }
}

pub struct HttpConn {
    sender: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    host: String,
}

impl HttpConn {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            addr,
            host: addr.to_string(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `call` and reads the whole answer.
    pub async fn send(&mut self, call: &Call) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await.context("connection closed")?;
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(&call.path)
            .header(hyper::header::HOST, &self.host);
        if let Some(token) = &call.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if call.body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(Full::new(call.body.clone().unwrap_or_default()))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends `call` and parses the JSON answer; an error status is an error.
    pub async fn json(&mut self, call: &Call) -> anyhow::Result<Value> {
        let (status, body) = self.send(call).await?;
        if !status.is_success() {
            bail!(
                "{} {} answered {status}: {}",
                call.method,
                call.path,
                String::from_utf8_lossy(&body)
            );
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).with_context(|| format!("JSON from {}", call.path))
    }
}
