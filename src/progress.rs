//! Progress on a terminal: a one-line ticker on stderr (what is being audited, elapsed time),
//! redrawn in place and erased when done. Nothing at all when stderr is not a TTY, so CI logs
//! and cron mail stay clean.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running ticker; [`Ticker::finish`] erases it.
#[derive(Debug)]
pub struct Ticker {
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts a ticker labelled `label` when stderr is a terminal (and `enabled`); otherwise an
    /// inert one.
    pub fn start(label: String, enabled: bool) -> Ticker {
        if !enabled || !std::io::stderr().is_terminal() {
            return Ticker {
                stop: None,
                task: None,
            };
        }
        let (tx, mut rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let started = Instant::now();
            let mut i = 0usize;
            loop {
                let line = format!(
                    "\r{} {label} · {:.1}s ",
                    FRAMES[i % FRAMES.len()],
                    started.elapsed().as_secs_f64()
                );
                {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(line.as_bytes());
                    let _ = err.flush();
                }
                i += 1;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(120)) => {}
                    _ = rx.changed() => break,
                }
            }
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(b"\r\x1b[2K");
            let _ = err.flush();
        });
        Ticker {
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the ticker and erases its line.
    pub async fn finish(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
