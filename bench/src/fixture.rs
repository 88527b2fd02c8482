//! Set-up through Guildhall's own API: accounts (sign-up and login),
//! servers with channels, invites and joins. Argon2 makes each sign-up and
//! login cost tens of milliseconds of CPU, so accounts are made a few at a
//! time (`parallel`), enough to keep both cores busy.

use std::net::SocketAddr;

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};

use crate::http::{Call, HttpConn};

pub const PASSWORD: &str = "bench password 1";

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub token: String,
}

/// A server and its channels (the first is `#general`).
#[derive(Clone, Debug)]
pub struct Space {
    pub server_id: String,
    pub channels: Vec<String>,
}

fn str_field(value: &Value, field: &str) -> anyhow::Result<String> {
    value
        .pointer(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no {field} in {value}"))
}

/// Signs up and logs in `prefix0`, `prefix1`, ... `parallel` at a time.
pub async fn accounts(
    addr: SocketAddr,
    prefix: &str,
    n: usize,
    parallel: usize,
) -> anyhow::Result<Vec<Account>> {
    stream::iter(0..n)
        .map(|i| async move {
            let mut conn = HttpConn::connect(addr).await?;
            let login = json!({"username": format!("{prefix}{i}"), "password": PASSWORD});
            conn.json(&Call::post("/users", None, &login)).await?;
            let session = conn.json(&Call::post("/auth/login", None, &login)).await?;
            Ok(Account {
                id: str_field(&session, "/user/id")?,
                token: str_field(&session, "/token")?,
            })
        })
        .buffered(parallel.max(1))
        .try_collect()
        .await
}

/// A server owned by `owner` with `channels` channels in all.
pub async fn space(
    addr: SocketAddr,
    owner: &Account,
    name: &str,
    channels: usize,
) -> anyhow::Result<Space> {
    let mut conn = HttpConn::connect(addr).await?;
    let token = Some(owner.token.as_str());
    let server = conn
        .json(&Call::post("/servers", token, &json!({"name": name})))
        .await?;
    let server_id = str_field(&server, "/id")?;
    let listed = conn
        .json(&Call::get(
            format!("/channels?server_id={server_id}"),
            token,
        ))
        .await?;
    let mut ids = vec![str_field(&listed, "/0/id")?];
    for c in 1..channels {
        let body = json!({"server_id": server_id, "name": format!("room-{c}")});
        let channel = conn.json(&Call::post("/channels", token, &body)).await?;
        ids.push(str_field(&channel, "/id")?);
    }
    Ok(Space {
        server_id,
        channels: ids,
    })
}

/// Makes every one of `members` join `space` through one invite.
pub async fn join(
    addr: SocketAddr,
    owner: &Account,
    space: &Space,
    members: &[Account],
    parallel: usize,
) -> anyhow::Result<()> {
    let mut conn = HttpConn::connect(addr).await?;
    let path = format!("/servers/{}/invites", space.server_id);
    let invite = conn
        .json(&Call::post(path, Some(&owner.token), &json!({})))
        .await?;
    let code = str_field(&invite, "/code")?;
    let accept = format!("/invites/{code}/accept");
    stream::iter(members)
        .map(|member| {
            let accept = accept.clone();
            async move {
                let mut conn = HttpConn::connect(addr).await?;
                conn.json(&Call::post(accept, Some(&member.token), &json!({})))
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(parallel.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// The body of a benchmark message.
pub fn message(channel_id: &str, content: String) -> Value {
    json!({"channel_id": channel_id, "content": content})
}
