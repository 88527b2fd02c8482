use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "guildhall=info,tower_http=warn".into()),
        )
        .init();
    guildhall::serve(guildhall::config::Cli::parse().into_config()).await
}
