//! One process-wide monotonic clock in microseconds: posters stamp the
//! time into message content and listeners in the same process subtract.

use std::sync::OnceLock;
use std::time::Instant;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds since the first call in this process.
pub fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// The content of a benchmark message: its sequence number and send time,
/// so that any listener can tell which message it got and how late.
pub fn stamp(seq: u64) -> String {
    format!("b {seq} {}", now_us())
}

/// Reads `(seq, sent_us)` back from a raw `message_create` packet without
/// parsing the JSON: at 10,000 sockets the bench must stay cheap.
pub fn read_stamp(packet: &str) -> Option<(u64, u64)> {
    const MARK: &str = "\"content\":\"b ";
    let start = packet.find(MARK)? + MARK.len();
    let mut parts = packet[start..].split([' ', '"']);
    let seq = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((seq, sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_reads_back_from_a_packet() {
        let packet = format!(
            "42[\"message_create\",{{\"id\":\"1\",\"content\":\"{}\",\"x\":1}}]",
            stamp(42)
        );
        let (seq, sent) = read_stamp(&packet).unwrap();
        assert_eq!(seq, 42);
        assert!(sent <= now_us());
        assert_eq!(read_stamp("42[\"typing\",{}]"), None);
    }
}
