//! Black-box tests of the HTTP API: each test starts the real server on a
//! random port with a fresh database (see `helpers.rs`).

mod helpers;

mod auth;
mod channels;
mod cluster;
mod cluster_events;
mod cluster_outages;
mod cluster_presence;
mod contract;
mod emojis;
mod fresh_reads;
mod friendlists;
mod invites;
mod limits;
mod live_sockets;
mod matrix;
mod members;
mod messages;
mod ops;
mod outages;
mod races;
mod security;
mod servers;
mod socket_client;
mod sockets;
mod users;
