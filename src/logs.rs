//! Where log lines go and how they look: stderr, as text or JSON lines
//! (`--log-format`), filtered by `RUST_LOG`. Each request's lines carry its
//! request id through the request's span (`http::router`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is not set: our own events from `info` up,
/// tower-http's only from `warn`, since it would otherwise log every request.
pub const DEFAULT_FILTER: &str = "guildhall=info,tower_http=warn";

/// Installs the process-wide subscriber; fails if one is installed already.
pub fn init(format: LogFormat) -> Result<(), tracing_subscriber::util::TryInitError> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        // Colour codes are noise in a file or a log collector.
        LogFormat::Text => registry
            .with(fmt.with_ansi(std::io::stderr().is_terminal()))
            .try_init(),
        LogFormat::Json => registry.with(fmt.json()).try_init(),
    }
}
