//! The readyprobe binary: parse, install the crypto provider, run, map to an exit code.
//!
//! A write to a closed pipe (`readyprobe checks | head`) ends the process as it ends `cat`:
//! killed by SIGPIPE, without a message. Rust ignores SIGPIPE so that a socket whose peer left
//! reports an error (the probes rely on that), which makes `print!` panic on a closed stdout;
//! [`quiet_broken_pipe`] turns exactly that panic — and an error that is a broken pipe — into
//! the usual ending, and leaves the signal ignored while the probes run.

use std::process::ExitCode;

use clap::Parser;
use readyprobe::cli::{self, Cli};
use readyprobe::exit;

// mimalloc instead of glibc malloc: a fleet allocates and frees many small objects from two
// threads (request heads, evidence strings, h2 frames); glibc's allocator took ~18 % of the
// prober's CPU in `bench/profile.sh`, and mimalloc cut the fleet's CPU by about a quarter.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults trade memory for speed (arenas committed up front, freed pages given
/// back after a delay): +10 MB for one audit and 3x the peak RSS of a 1,000-target fleet
/// here. Committing on demand and purging at once keep RSS where glibc's was and most of the
/// speed. The option numbers are those of the `mi_option_e` enum of mimalloc v3
/// (`include/mimalloc.h`), the version `libmimalloc-sys` builds; `MIMALLOC_*` environment
/// variables still override them. Runs as an ELF constructor, before the first allocation
/// reserves an arena (from `main` it is too late: +7 MB).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
extern "C" fn tune_allocator() {
    const OPTIONS: [(std::os::raw::c_int, &str); 2] = [
        (4, "MIMALLOC_ARENA_EAGER_COMMIT"),
        (15, "MIMALLOC_PURGE_DELAY"),
    ];
    for (option, variable) in OPTIONS {
        if std::env::var_os(variable).is_none() {
            // SAFETY: a plain setter of one of mimalloc's global options; 0 is valid for both.
            unsafe { libmimalloc_sys::mi_option_set(option, 0) };
        }
    }
}

fn main() -> ExitCode {
    #[cfg(not(target_os = "linux"))]
    tune_allocator();
    quiet_broken_pipe();
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
        Err(err) if is_broken_pipe(&err) => die_of_sigpipe(),
        Err(err) => {
            eprintln!("readyprobe: error: {err:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Makes the panic `print!` raises on a closed stdout or stderr end the process by SIGPIPE;
/// every other panic is reported as before.
fn quiet_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // std's message: "failed printing to stdout: Broken pipe (os error 32)".
        if message.starts_with("failed printing to std")
            && message.to_ascii_lowercase().contains("broken pipe")
        {
            die_of_sigpipe();
        }
        report(info);
    }));
}

/// True when the error is a write to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Ends the process by SIGPIPE, the status a shell reports for a writer whose reader left.
fn die_of_sigpipe() -> ! {
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal and raising it on this thread; no
    // memory is touched.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    // Not reached on unix (the default action of SIGPIPE ends the process).
    std::process::exit(128 + 13)
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
