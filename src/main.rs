use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = guildhall::config::Cli::parse().into_config();
    guildhall::logs::init(config.log_format)?;
    guildhall::serve(config).await
}
