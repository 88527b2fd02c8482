//! guildhall-bench: the load generator of issue 9 and the pieces its bare
//! ceiling programs (`src/bin/bare_*.rs`) share. `main.rs` runs every
//! scenario against freshly started servers and writes the report.
//!
//! Clients speak the real protocols from scratch: HTTP/1.1 keep-alive over
//! hyper's connection API (`http`), and Engine.IO v4 / Socket.IO v5 over
//! tokio-tungstenite (`socket`), small enough for tens of thousands of
//! sockets in one process.

pub mod ceiling;
pub mod clock;
pub mod fixture;
pub mod http;
pub mod load;
pub mod pg;
pub mod plot;
pub mod procs;
pub mod report;
pub mod scenarios;
pub mod socket;
