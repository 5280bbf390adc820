//! Progress on a terminal: a one-line ticker on stderr (what is being audited, elapsed time, the
//! probes running right now), redrawn in place and erased when done. Nothing at all when stderr
//! is not a TTY, so CI logs and cron mail stay clean.
//!
//! The engine reports what runs through [`track`], which reads an [`Activity`] from a task-local
//! set by [`Activity::scope`]: no engine signature carries it, and where no activity is in scope
//! (`serve`, fleets, tests) tracking costs one failed task-local lookup.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

tokio::task_local! {
    static ACTIVITY: Activity;
}

/// The ticker line never grows past this many columns, even on a wider terminal.
pub const MAX_COLUMNS: usize = 100;

/// What is running right now: probe names with how many of each are in flight, in the order
/// they started. Cheap to clone (the clones share one list).
#[derive(Debug, Clone, Default)]
pub struct Activity {
    running: Arc<Mutex<Vec<(String, usize)>>>,
}

/// Marks one probe as running until dropped (see [`Activity::enter`]).
#[derive(Debug)]
#[must_use = "the probe counts as running only while this guard lives"]
pub struct Running {
    activity: Activity,
    name: String,
}

impl Activity {
    /// An empty activity.
    pub fn new() -> Activity {
        Activity::default()
    }

    /// Marks `name` as running until the returned guard drops.
    pub fn enter(&self, name: &str) -> Running {
        let mut running = self.lock();
        match running.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => *count += 1,
            None => running.push((name.to_string(), 1)),
        }
        Running {
            activity: self.clone(),
            name: name.to_string(),
        }
    }

    /// Runs `fut` with `name` marked as running. A guard, not a call after the await, clears the
    /// mark, so a future cancelled by the deadline (dropped mid-flight) does not stay listed.
    pub async fn track<F: Future>(&self, name: &str, fut: F) -> F::Output {
        let _running = self.enter(name);
        fut.await
    }

    /// The probes running now, in the order they started, with how many of each.
    pub fn running(&self) -> Vec<(String, usize)> {
        self.lock().clone()
    }

    /// Runs `fut` with this activity visible to [`track`]. Futures polled by `fut` itself
    /// (`tokio::join!`, `join_all`) see it; tasks it spawns do not.
    pub async fn scope<F: Future>(self, fut: F) -> F::Output {
        ACTIVITY.scope(self, fut).await
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(String, usize)>> {
        // The list stays consistent even if a holder panicked: every update is one statement.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self.activity.lock();
        if let Some(i) = running.iter().position(|(n, _)| *n == self.name) {
            running[i].1 -= 1;
            if running[i].1 == 0 {
                running.remove(i);
            }
        }
    }
}

/// Runs `fut` marked as `name` in the [`Activity`] in scope ([`Activity::scope`]); just runs it
/// when there is none.
pub async fn track<F: Future>(name: &str, fut: F) -> F::Output {
    let _running = ACTIVITY.try_with(|activity| activity.enter(name)).ok();
    fut.await
}

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
        Ticker::spawn(label, enabled, None)
    }

    /// Like [`Ticker::start`], and the line also lists what `activity` says is running.
    pub fn with_activity(label: String, enabled: bool, activity: Activity) -> Ticker {
        Ticker::spawn(label, enabled, Some(activity))
    }

    fn spawn(label: String, enabled: bool, activity: Option<Activity>) -> Ticker {
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
                let running = activity.as_ref().map(Activity::running).unwrap_or_default();
                // Erase to the end of the line: the list of probes can shrink between frames.
                let line = format!(
                    "\r{}\x1b[K",
                    line(
                        FRAMES[i % FRAMES.len()],
                        &label,
                        started.elapsed(),
                        &running,
                        columns(),
                    )
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

/// The columns the ticker line may use: one less than the terminal's width (a line filling the
/// last column makes some terminals wrap, and a wrapped line cannot be redrawn in place), at
/// most [`MAX_COLUMNS`].
fn columns() -> usize {
    match terminal_columns() {
        Some(width) => width.saturating_sub(1).min(MAX_COLUMNS),
        None => MAX_COLUMNS,
    }
}

/// The width of the terminal on stderr, when the kernel knows it (a pseudo-terminal nobody
/// sized reports 0).
#[cfg(unix)]
fn terminal_columns() -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is valid for the call.
    let ok = unsafe {
        libc::ioctl(
            std::io::stderr().as_raw_fd(),
            libc::TIOCGWINSZ,
            &raw mut size,
        )
    } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_columns() -> Option<usize> {
    None
}

/// One frame of the ticker: `⠋ <label> · 1.2s · tls, health, metrics +3`, at most `columns`
/// characters when that is at least enough for the frame and the elapsed time. The label is
/// shortened with `…` rather than lose the time; names that do not fit are counted (`+3`).
pub fn line(
    frame: char,
    label: &str,
    elapsed: Duration,
    running: &[(String, usize)],
    columns: usize,
) -> String {
    let time = format!(" · {:.1}s", elapsed.as_secs_f64());
    let room = columns.saturating_sub(2 + time.chars().count());
    let base = format!("{frame} {}{time}", shorten(label, room));
    if running.is_empty() {
        return base;
    }
    let used = base.chars().count() + " · ".chars().count();
    let mut shown = String::new();
    let mut listed = 0;
    for (i, (name, count)) in running.iter().enumerate() {
        let name = if *count > 1 {
            format!("{name} ×{count}")
        } else {
            name.clone()
        };
        let candidate = if shown.is_empty() {
            name
        } else {
            format!("{shown}, {name}")
        };
        let rest = running.len() - (i + 1);
        let suffix = if rest > 0 {
            format!(" +{rest}")
        } else {
            String::new()
        };
        if used + candidate.chars().count() + suffix.chars().count() > columns {
            break;
        }
        shown = candidate;
        listed = i + 1;
    }
    let rest = running.len() - listed;
    let tail = match (listed, rest) {
        (0, n) => format!("{n} running"),
        (_, 0) => shown,
        (_, n) => format!("{shown} +{n}"),
    };
    if used + tail.chars().count() > columns {
        return base;
    }
    format!("{base} · {tail}")
}

/// `text` cut to at most `max` characters, the cut marked with `…`.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn names(activity: &Activity) -> Vec<(String, usize)> {
        activity.running()
    }

    fn owned(list: &[(&str, usize)]) -> Vec<(String, usize)> {
        list.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[tokio::test]
    async fn tracked_future_is_listed_while_running_and_not_after() {
        let activity = Activity::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let fut = activity.track("tls", rx);
        tokio::pin!(fut);
        assert!(fut.as_mut().now_or_never().is_none());
        assert_eq!(names(&activity), owned(&[("tls", 1)]));
        tx.send(7).unwrap();
        assert_eq!(fut.await.unwrap(), 7);
        assert!(names(&activity).is_empty());
    }

    #[tokio::test]
    async fn cancelled_or_dropped_future_is_no_longer_listed() {
        let activity = Activity::new();
        let cut = tokio::time::timeout(
            Duration::from_millis(20),
            activity.track("fault", std::future::pending::<()>()),
        )
        .await;
        assert!(cut.is_err());
        assert!(names(&activity).is_empty());

        let fut = activity.track("load", std::future::pending::<()>());
        let mut fut = Box::pin(fut);
        assert!(fut.as_mut().now_or_never().is_none());
        assert_eq!(names(&activity), owned(&[("load", 1)]));
        drop(fut);
        assert!(names(&activity).is_empty());
    }

    #[test]
    fn same_name_twice_is_counted_and_kept_until_both_finish() {
        let activity = Activity::new();
        let a = activity.enter("health");
        let b = activity.enter("tls");
        let c = activity.enter("health");
        assert_eq!(names(&activity), owned(&[("health", 2), ("tls", 1)]));
        drop(a);
        assert_eq!(names(&activity), owned(&[("health", 1), ("tls", 1)]));
        drop(c);
        assert_eq!(names(&activity), owned(&[("tls", 1)]));
        drop(b);
        assert!(names(&activity).is_empty());
    }

    #[tokio::test]
    async fn free_track_reports_to_the_scoped_activity_across_join_and_is_a_noop_without() {
        // Outside any scope: runs the future, records nothing anywhere.
        assert_eq!(track("tls", async { 3 }).await, 3);

        let activity = Activity::new();
        let seen = activity.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let observed = activity
            .scope(async move {
                let ((), observed) = tokio::join!(
                    async {
                        track("tls", rx).await.unwrap();
                    },
                    track("headers", async {
                        tokio::task::yield_now().await;
                        let now = seen.running();
                        let _ = tx.send(());
                        now
                    }),
                );
                observed
            })
            .await;
        assert_eq!(observed, owned(&[("tls", 1), ("headers", 1)]));
    }

    #[test]
    fn line_without_activity_keeps_the_plain_shape() {
        let line = line(
            '⠋',
            "auditing https://x.test/",
            Duration::from_millis(1234),
            &[],
            100,
        );
        assert_eq!(line, "⠋ auditing https://x.test/ · 1.2s");
    }

    #[test]
    fn line_lists_running_probes_with_counts() {
        let line = line(
            '⠙',
            "auditing https://x.test/",
            Duration::from_secs(3),
            &owned(&[("tls", 1), ("health", 2), ("metrics", 1)]),
            100,
        );
        assert_eq!(
            line,
            "⠙ auditing https://x.test/ · 3.0s · tls, health ×2, metrics"
        );
    }

    #[test]
    fn line_caps_the_names_and_counts_the_rest() {
        let running = owned(&[
            ("tls", 1),
            ("headers", 1),
            ("metrics", 1),
            ("dependencies", 1),
            ("error pages", 1),
            ("tracing", 1),
        ]);
        let line = line(
            '⠋',
            "auditing https://x.test/",
            Duration::from_millis(1200),
            &running,
            59,
        );
        assert_eq!(line, "⠋ auditing https://x.test/ · 1.2s · tls, headers +4");
        assert!(line.chars().count() <= 59);
    }

    #[test]
    fn line_never_exceeds_the_columns_it_is_given() {
        let running = owned(&[
            ("dependency fault injection", 1),
            ("rate-limit burst", 3),
            ("tls", 1),
        ]);
        let long = format!("auditing https://{}.test/", "a".repeat(200));
        for columns in [24, 30, 40, 50, 80, MAX_COLUMNS] {
            for label in ["auditing https://x.test/", long.as_str()] {
                let line = line('⠋', label, Duration::from_secs(12), &running, columns);
                assert!(line.chars().count() <= columns, "{columns}: {line}");
                assert!(line.contains(" · 12.0s"), "{columns}: {line}");
            }
        }
        // Too narrow for any name: the count stands in for them.
        let narrow = line(
            '⠋',
            "auditing https://x.test/",
            Duration::from_secs(1),
            &running,
            47,
        );
        assert_eq!(narrow, "⠋ auditing https://x.test/ · 1.0s · 3 running");
        // A label too long for the line is shortened, the time kept.
        let cut = line('⠋', &long, Duration::from_secs(1), &[], 40);
        assert_eq!(cut.chars().count(), 40);
        assert!(cut.ends_with("… · 1.0s"), "{cut}");
    }
}
