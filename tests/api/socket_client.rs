//! A minimal Socket.IO v5 client over a raw WebSocket (Engine.IO v4), for
//! driving the gateway from Rust tests at the protocol level: it can also
//! send what a well-behaved client library never would.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub struct SocketClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ack: u64,
    pending: VecDeque<(String, Value)>,
}

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);

impl SocketClient {
    /// Opens the WebSocket and joins the default namespace with `auth`.
    /// `Err` carries the `connect_error` data.
    pub async fn connect(
        app: &TestApp,
        auth: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Self, Value> {
        Self::connect_to(&app.base, auth, headers).await
    }

    /// `connect`, to a server at `base` (`http://host:port`).
    pub async fn connect_to(
        base: &str,
        auth: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Self, Value> {
        let url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket";
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap(),
                value.parse().unwrap(),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket opens");
        let mut client = Self {
            ws,
            next_ack: 1,
            pending: VecDeque::new(),
        };
        let open = client.raw_next().await.expect("engine.io open packet");
        assert!(open.starts_with('0'), "expected open packet, got {open}");
        let connect = match auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_string(),
        };
        client.send_raw(&connect).await;
        loop {
            let packet = client.raw_next().await.expect("connect answer");
            if let Some(rest) = packet.strip_prefix("40") {
                assert!(rest.contains("sid"), "{packet}");
                return Ok(client);
            }
            if let Some(rest) = packet.strip_prefix("44") {
                return Err(serde_json::from_str(rest).unwrap());
            }
            client.buffer(&packet);
        }
    }

    /// Connects with a bearer token in `auth`; panics if refused.
    pub async fn with_token(app: &TestApp, token: &str) -> Self {
        Self::connect(app, Some(serde_json::json!({ "token": token })), &[])
            .await
            .unwrap_or_else(|e| panic!("socket refused: {e}"))
    }

    pub async fn send_raw(&mut self, packet: &str) {
        self.ws
            .send(Frame::text(packet.to_string()))
            .await
            .expect("send");
    }

    /// The next Engine.IO text packet, answering pings on the way; `None`
    /// when the connection closes.
    pub async fn raw_next(&mut self) -> Option<String> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .ok()??
                .ok()?;
            match frame {
                Frame::Text(text) => {
                    let text = text.to_string();
                    if text == "2" {
                        self.send_raw("3").await;
                        continue;
                    }
                    return Some(text);
                }
                Frame::Close(_) => return None,
                _ => continue,
            }
        }
    }

    fn buffer(&mut self, packet: &str) {
        if let Some(rest) = packet.strip_prefix("42")
            && let Ok(Value::Array(mut parts)) = serde_json::from_str::<Value>(rest)
            && !parts.is_empty()
        {
            let name = parts.remove(0).as_str().unwrap_or_default().to_string();
            let data = parts.into_iter().next().unwrap_or(Value::Null);
            self.pending.push_back((name, data));
        }
    }

    /// Emits an event with an ack id and waits for the ack's data.
    pub async fn emit_ack(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let packet = format!("42{id}{}", serde_json::json!([event, data]));
        self.send_raw(&packet).await;
        let prefix = format!("43{id}");
        loop {
            let packet = self.raw_next().await.unwrap_or_else(|| {
                panic!("closed before the ack of {event}; had {:?}", self.pending)
            });
            if let Some(rest) = packet.strip_prefix(&prefix) {
                let mut parts: Vec<Value> = serde_json::from_str(rest).unwrap();
                return parts.remove(0);
            }
            self.buffer(&packet);
        }
    }

    /// Waits for the next `event`, keeping others for later.
    pub async fn expect(&mut self, event: &str) -> Value {
        if let Some(pos) = self.pending.iter().position(|(n, _)| n == event) {
            return self.pending.remove(pos).unwrap().1;
        }
        loop {
            let packet = self
                .raw_next()
                .await
                .unwrap_or_else(|| panic!("closed while waiting for {event}"));
            self.buffer(&packet);
            if let Some(pos) = self.pending.iter().position(|(n, _)| n == event) {
                return self.pending.remove(pos).unwrap().1;
            }
        }
    }

    /// Asserts that no `event` arrives within `within`.
    pub async fn expect_none(&mut self, event: &str, within: Duration) {
        assert!(
            !self.pending.iter().any(|(n, _)| n == event),
            "unexpected {event}: {:?}",
            self.pending
        );
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) | Ok(None) => return,
                Ok(Some(Ok(Frame::Text(text)))) => {
                    let text = text.to_string();
                    if text == "2" {
                        self.send_raw("3").await;
                        continue;
                    }
                    self.buffer(&text);
                    assert!(
                        !self.pending.iter().any(|(n, _)| n == event),
                        "unexpected {event}: {:?}",
                        self.pending
                    );
                }
                Ok(Some(_)) => continue,
            }
        }
    }

    /// The next event, buffered or new; `None` once the server closes the
    /// connection. Panics if neither happens within `WAIT`.
    pub async fn next_event(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the socket neither sent an event nor closed");
            match frame {
                None | Some(Err(_)) | Some(Ok(Frame::Close(_))) => return None,
                Some(Ok(Frame::Text(t))) if t.as_str() == "41" => return None,
                Some(Ok(Frame::Text(t))) if t.as_str() == "2" => self.send_raw("3").await,
                Some(Ok(Frame::Text(t))) => self.buffer(t.as_str()),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// True once the server has closed the connection (within `WAIT`).
    pub async fn closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Frame::Close(_)))) => return true,
                Ok(Some(Ok(Frame::Text(t)))) if t.as_str() == "41" => return true,
                Ok(Some(Ok(Frame::Text(t)))) if t.as_str() == "2" => self.send_raw("3").await,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}
