//! Tests for this resource are being written.
