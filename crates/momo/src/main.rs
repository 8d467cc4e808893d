//! `momo`: the command line. Parses flags, sets up logging and hands over to the
//! library (`momo::serve`) or to the app's admin functions.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use momo::config::{LogFormat, Overrides};
use momo::Config;
use tracing_subscriber::EnvFilter;

/// A self-hostable backend for live-streaming social apps, in one binary.
///
/// With no configuration momo keeps everything in ./data (a SQLite database and
/// secrets) and serves HTTP on 0.0.0.0:8080. Every setting can also come from a TOML
/// file (--config) or a MOMO_* environment variable; flags win over the environment,
/// which wins over the file.
#[derive(Debug, Parser)]
#[command(name = "momo", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: HTTP API, web pages and live media.
    ///
    /// Stops gracefully on SIGINT or SIGTERM: new connections are refused, requests
    /// in flight finish, the database is closed cleanly.
    Serve(ServeArgs),
    /// Apply database migrations and exit (serve also applies them at start).
    Migrate(Common),
    /// Manage operator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account with the admin role.
    Create {
        #[command(flatten)]
        common: Common,
        /// Username: 3–32 letters, digits or underscores.
        #[arg(long)]
        username: String,
        /// Password: 8–128 characters. Prefer MOMO_ADMIN_PASSWORD to keep it out of
        /// shell history.
        #[arg(long, env = "MOMO_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Display name (defaults to the username).
        #[arg(long)]
        nickname: Option<String>,
    },
}

/// `serve`'s options.
#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// HTTP listen address [default: 0.0.0.0:8080; env: MOMO_HTTP].
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// RTMP listen address, for the live media server [default: 0.0.0.0:1935; env: MOMO_RTMP].
    #[arg(long, value_name = "ADDR")]
    rtmp: Option<String>,
    /// Also serve chat over goim's plain-TCP transport, for native goim clients, on this
    /// address [default: off; env: MOMO_CHAT__TCP].
    #[arg(long, value_name = "ADDR")]
    chat_tcp: Option<String>,
}

/// Options every command shares.
#[derive(Debug, Args)]
struct Common {
    /// TOML configuration file.
    #[arg(long, short = 'c', env = "MOMO_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the database, secrets and media [default: ./data; env: MOMO_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: DATA_DIR/momo.db;
    /// env: MOMO_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Log format on stderr [default: text; env: MOMO_LOG_FORMAT].
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

impl Common {
    /// The configuration, with `serve`'s own flags when it is `serve`.
    fn load(&self, serve: Option<&ServeArgs>) -> anyhow::Result<Config> {
        let overrides = Overrides {
            chat: serve
                .and_then(|s| s.chat_tcp.as_ref())
                .map(|tcp| momo::config::ChatOverrides {
                    tcp: Some(tcp.to_owned()),
                }),
            data_dir: self.data_dir.clone(),
            http: serve.and_then(|s| s.http.clone()),
            rtmp: serve.and_then(|s| s.rtmp.clone()),
            database_url: self.database_url.clone(),
            log_format: self.log_format,
        };
        Ok(Config::load(self.config.as_deref(), &overrides)?)
    }
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only for a person at a terminal: a log sent to a file or a collector gets
    // plain text (and NO_COLOR is honoured).
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (common, serve) = match &cli.command {
        Command::Serve(s) => (&s.common, Some(s)),
        Command::Migrate(c) => (c, None),
        Command::Admin {
            command: AdminCommand::Create { common, .. },
        } => (common, None),
    };
    let config = match common.load(serve) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("momo: bad configuration: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("momo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("momo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve(_) => {
            let running = momo::serve::start(config, kit::shutdown::signal()).await?;
            running.wait().await
        }
        Command::Migrate(_) => {
            let store = momo::serve::open_store(&config).await?;
            store.close().await;
            eprintln!("momo: migrations applied");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    username,
                    password,
                    nickname,
                    ..
                },
        } => {
            momo::welcome::ensure_existing_data(&config)?;
            let state = momo::serve::open(&config).await?;
            let result = app::accounts::create_admin::create_admin(
                state.identity(),
                &username,
                &password,
                nickname.as_deref(),
            )
            .await;
            state.store().close().await;
            match result {
                Ok(id) => {
                    println!(
                        "created admin {username} (id {id}) in {}",
                        momo::welcome::describe_database(&config)
                    );
                    Ok(())
                }
                Err(e) => {
                    let e = kit::ApiError::from(e);
                    anyhow::bail!("cannot create admin {username}: {}", e.message)
                }
            }
        }
    }
}
