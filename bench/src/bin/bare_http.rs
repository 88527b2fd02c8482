//! bare-http: the ceiling of an HTTP round trip. axum, `GET /hello`
//! answers `{"hello":"world"}`; every other path is axum's 404. No
//! middleware, no state, no database: what Guildhall's HTTP stack costs
//! is the difference between it and this.

use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use guildhall_bench::ceiling::{BareArgs, serve};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = BareArgs::parse();
    let app = Router::new().route(
        "/hello",
        get(|| async { Json::<Value>(json!({"hello": "world"})) }),
    );
    serve(args.listen, app).await
}
