//! The readyprobe binary: parse, install the crypto provider, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use readyprobe::cli::{self, Cli, exit};

fn main() -> ExitCode {
    readyprobe::install_crypto_provider();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints help/version (exit 0) and usage errors (exit 2) itself.
        Err(err) => err.exit(),
    };
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("readyprobe: cannot start the async runtime: {err}");
            return ExitCode::from(exit::USAGE);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("readyprobe: error: {err:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Logs go to stderr; reports go to stdout or files.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "readyprobe=info,warn",
        _ => "readyprobe=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
