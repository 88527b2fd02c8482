//! Snowflake IDs: 64-bit, time-ordered, unique across nodes.
//!
//! Layout (most significant first): 41 bits of milliseconds since
//! [`EPOCH_MS`], 10 bits of node id, 12 bits of per-millisecond sequence.
//! Several nodes mint IDs at once without coordination as long as each has
//! its own node id. IDs travel as decimal strings because JavaScript numbers
//! lose precision above 2^53.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 2026-01-01T00:00:00Z in Unix milliseconds.
pub const EPOCH_MS: i64 = 1_767_225_600_000;
const NODE_BITS: u32 = 10;
const SEQ_BITS: u32 = 12;
pub const MAX_NODE_ID: u16 = (1 << NODE_BITS) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Snowflake(pub i64);

impl Snowflake {
    /// Unix milliseconds at which this ID was minted.
    pub fn timestamp_ms(self) -> i64 {
        (self.0 >> (NODE_BITS + SEQ_BITS)) + EPOCH_MS
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Snowflake {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Only plain decimal digits: no sign, no whitespace, no leading '+'.
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a decimal snowflake id");
        }
        s.parse::<i64>()
            .map(Snowflake)
            .map_err(|_| "must be a decimal snowflake id")
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    /// Accepts the canonical decimal string, and also a JSON integer for
    /// clients that send numbers (precision is theirs to keep).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Str(std::borrow::Cow<'a, str>),
            Num(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Num(n) => i64::try_from(n)
                .map(Snowflake)
                .map_err(|_| serde::de::Error::custom("id out of range")),
        }
    }
}

/// Mints snowflakes for one node. Cheap to share behind an `Arc`.
///
/// In multi-node mode the node id is leased (`cluster::lease`): the lease
/// keeps pushing `valid_until_ms` forward, and past it the generator
/// refuses to mint, since another node may by then hold the same id. A
/// node given back a different id after losing its lease switches to it.
pub struct IdGenerator {
    state: Mutex<GeneratorState>,
}

struct GeneratorState {
    node_id: i64,
    /// The last millisecond used (since `EPOCH_MS`) and the sequence in it.
    last_ms: i64,
    seq: i64,
    /// Unix milliseconds after which no id may be minted.
    valid_until_ms: i64,
}

/// Minting refused: this node's id lease ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseExpired;

impl IdGenerator {
    /// A generator whose node id is its own for good (single-node mode, or
    /// an id set by the operator).
    pub fn new(node_id: u16) -> Self {
        Self::leased(node_id, i64::MAX)
    }

    /// A generator for a leased node id, valid until `valid_until_ms`.
    pub fn leased(node_id: u16, valid_until_ms: i64) -> Self {
        assert!(node_id <= MAX_NODE_ID, "node id out of range");
        Self {
            state: Mutex::new(GeneratorState {
                node_id: i64::from(node_id),
                last_ms: 0,
                seq: 0,
                valid_until_ms,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GeneratorState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lease was renewed: ids may be minted until `valid_until_ms`,
    /// under `node_id`.
    pub fn extend_lease(&self, node_id: u16, valid_until_ms: i64) {
        let mut state = self.lock();
        state.node_id = i64::from(node_id.min(MAX_NODE_ID));
        state.valid_until_ms = valid_until_ms;
    }

    /// The lease is gone: mint nothing until it is extended again.
    pub fn revoke_lease(&self) {
        self.lock().valid_until_ms = i64::MIN;
    }

    pub fn node_id(&self) -> u16 {
        u16::try_from(self.lock().node_id).unwrap_or(0)
    }

    pub fn next(&self) -> Result<Snowflake, LeaseExpired> {
        Self::mint(&mut self.lock())
    }

    /// An id greater than `floor` (another node's, whose clock may be
    /// ahead of ours): this generator's clock moves past it for good.
    pub fn next_above(&self, floor: Snowflake) -> Result<Snowflake, LeaseExpired> {
        let mut state = self.lock();
        let floor_ms = floor.0 >> (NODE_BITS + SEQ_BITS);
        if state.last_ms <= floor_ms {
            state.last_ms = floor_ms + 1;
            state.seq = -1;
        }
        Self::mint(&mut state)
    }

    fn mint(state: &mut GeneratorState) -> Result<Snowflake, LeaseExpired> {
        let unix_now = chrono::Utc::now().timestamp_millis();
        if unix_now >= state.valid_until_ms {
            return Err(LeaseExpired);
        }
        let mut now = unix_now - EPOCH_MS;
        // A clock that steps backwards must not produce duplicates: keep
        // counting on the last millisecond we used.
        if now < state.last_ms {
            now = state.last_ms;
        }
        if now == state.last_ms {
            state.seq += 1;
            if state.seq >= 1 << SEQ_BITS {
                // Sequence exhausted: borrow the next millisecond.
                now += 1;
                state.seq = 0;
            }
        } else {
            state.seq = 0;
        }
        state.last_ms = now;
        Ok(Snowflake(
            (now << (NODE_BITS + SEQ_BITS)) | (state.node_id << SEQ_BITS) | state.seq,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strictly_increasing_and_unique() {
        let g = IdGenerator::new(3);
        let ids: Vec<_> = (0..20_000).map(|_| g.next().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn nodes_never_collide() {
        let a = IdGenerator::new(1);
        let b = IdGenerator::new(2);
        let mut all: Vec<_> = (0..5000)
            .flat_map(|_| [a.next().unwrap(), b.next().unwrap()])
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 10_000);
    }

    #[test]
    fn serializes_as_decimal_string_and_parses_back() {
        let id = Snowflake(1_234_567_890_123_456_789);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"1234567890123456789\"");
        assert_eq!(serde_json::from_str::<Snowflake>(&json).unwrap(), id);
        assert!(serde_json::from_str::<Snowflake>("\"-5\"").is_err());
        assert!(serde_json::from_str::<Snowflake>("\"12a\"").is_err());
    }

    #[test]
    fn timestamp_is_recoverable() {
        let g = IdGenerator::new(0);
        let before = chrono::Utc::now().timestamp_millis();
        let id = g.next().unwrap();
        assert!((id.timestamp_ms() - before).abs() < 1000);
    }

    #[test]
    fn next_above_passes_a_floor_from_a_clock_ahead() {
        let g = IdGenerator::new(1);
        let now = g.next().unwrap();
        // Another node's id, minted a minute ahead of our clock.
        let floor = Snowflake((now.0 + (60_000 << (NODE_BITS + SEQ_BITS))) | (1023 << SEQ_BITS));
        let above = g.next_above(floor).unwrap();
        assert!(above > floor);
        assert!(g.next().unwrap() > above);
        assert!(
            g.next_above(now).unwrap() > above,
            "a floor behind changes nothing"
        );
    }

    #[test]
    fn an_expired_lease_mints_nothing_until_extended() {
        let now = chrono::Utc::now().timestamp_millis();
        let g = IdGenerator::leased(5, now + 60_000);
        let first = g.next().unwrap();
        assert_eq!(first.0 >> SEQ_BITS & i64::from(MAX_NODE_ID), 5);
        g.revoke_lease();
        assert_eq!(g.next(), Err(LeaseExpired));
        g.extend_lease(9, now + 60_000);
        let after = g.next().unwrap();
        assert_eq!(after.0 >> SEQ_BITS & i64::from(MAX_NODE_ID), 9);
        assert!(after > first);
        let stale = IdGenerator::leased(1, now - 1);
        assert_eq!(stale.next(), Err(LeaseExpired));
    }
}
