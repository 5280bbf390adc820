//! Progress on a terminal: a one-line ticker on stderr (what is being audited, elapsed time, the
//! probes running right now), redrawn in place and erased when done. indicatif draws it (spinner,
//! redraw, fitting the line to the terminal's width) and hides it when stderr is not a TTY (or
//! `TERM` is unset or `dumb`), so CI logs and cron mail stay clean.
//!
//! The engine reports what runs through [`track`], which reads an [`Activity`] from a task-local
//! set by [`Activity::scope`]: no engine signature carries it, and where no activity is in scope
//! (`serve`, fleets, tests) tracking costs one failed task-local lookup.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tokio::task::JoinHandle;

tokio::task_local! {
    static ACTIVITY: Activity;
}

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

/// How often the spinner turns and the list of running probes is refreshed.
const TICK: Duration = Duration::from_millis(120);

/// The spinner's frames; indicatif shows the last one only once finished, and a finished ticker
/// is cleared, so it is a blank.
const FRAMES: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ";

/// The label is cut to this many characters, so that the elapsed time after it stays on an
/// 80-column line.
pub const LABEL_MAX: usize = 56;

/// The list of running probes never grows past this many characters, even on a wide terminal
/// (the old 100-column line); indicatif cuts it further to what the terminal's width leaves
/// (`{wide_msg}`). About what an 80-column terminal leaves after a typical label, so the `+3`
/// count usually survives.
pub const NAMES_MAX: usize = 40;

/// A running ticker: an indicatif spinner on stderr, `⠋ <label> · 1.2s · tls, health ×2 +3`.
/// [`Ticker::finish`] (or dropping it) erases it.
#[derive(Debug)]
pub struct Ticker {
    bar: ProgressBar,
    /// Copies what the [`Activity`] says is running into the bar's message.
    task: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts a ticker labelled `label` when `enabled` and stderr is a terminal (indicatif
    /// hides its bar otherwise, and when `TERM` is unset or `dumb`); otherwise an inert one.
    pub fn start(label: String, enabled: bool) -> Ticker {
        Ticker::spawn(label, enabled, None)
    }

    /// Like [`Ticker::start`], and the line also lists what `activity` says is running.
    pub fn with_activity(label: String, enabled: bool, activity: Activity) -> Ticker {
        Ticker::spawn(label, enabled, Some(activity))
    }

    fn spawn(label: String, enabled: bool, activity: Option<Activity>) -> Ticker {
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = bar(&label, target);
        if bar.is_hidden() {
            return Ticker { bar, task: None };
        }
        bar.enable_steady_tick(TICK);
        let task = activity.map(|activity| {
            let bar = bar.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(TICK);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut shown = String::new();
                loop {
                    every.tick().await;
                    let now = message(&activity.running(), NAMES_MAX);
                    if now != shown {
                        bar.set_message(now.clone());
                        shown = now;
                    }
                }
            })
        });
        Ticker { bar, task }
    }

    /// Stops the ticker and erases its line.
    pub async fn finish(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.bar.finish_and_clear();
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // Also on an early return: the line is erased rather than left behind.
        if let Some(task) = &self.task {
            task.abort();
        }
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

/// The spinner bar drawing to `target`: `{spinner} {prefix} · {secs}{wide_msg}`, the label as
/// prefix (cut to [`LABEL_MAX`]), the elapsed time with a tenth of a second, then the message
/// ([`message`]) cut by indicatif to the terminal's width.
fn bar(label: &str, target: ProgressDrawTarget) -> ProgressBar {
    let style = ProgressStyle::with_template("{spinner} {prefix} · {secs}{wide_msg}")
        .expect("a valid template")
        .tick_chars(FRAMES)
        .with_key(
            "secs",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}s", state.elapsed().as_secs_f64());
            },
        );
    ProgressBar::with_draw_target(None, target)
        .with_style(style)
        .with_prefix(shorten(label, LABEL_MAX))
}

/// The message after the elapsed time: ` · tls, health ×2, metrics +3`, or nothing when nothing
/// runs. The names take at most `max` characters; those that do not fit are counted (`+3`),
/// and when not even one fits the count stands in for them all (`3 running`).
pub fn message(running: &[(String, usize)], max: usize) -> String {
    if running.is_empty() {
        return String::new();
    }
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
        if candidate.chars().count() + suffix.chars().count() > max {
            break;
        }
        shown = candidate;
        listed = i + 1;
    }
    let tail = match (listed, running.len() - listed) {
        (0, n) => format!("{n} running"),
        (_, 0) => shown,
        (_, n) => format!("{shown} +{n}"),
    };
    if tail.chars().count() > max {
        return String::new();
    }
    format!(" · {tail}")
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
    fn message_is_empty_without_activity_and_lists_running_probes_with_counts() {
        assert_eq!(message(&[], NAMES_MAX), "");
        let running = owned(&[("tls", 1), ("health", 2), ("metrics", 1)]);
        assert_eq!(message(&running, NAMES_MAX), " · tls, health ×2, metrics");
    }

    #[test]
    fn message_caps_the_names_and_counts_the_rest() {
        let running = owned(&[
            ("tls", 1),
            ("headers", 1),
            ("metrics", 1),
            ("dependencies", 1),
            ("error pages", 1),
            ("tracing", 1),
        ]);
        assert_eq!(message(&running, 16), " · tls, headers +4");
        assert_eq!(message(&running, 9), " · tls +5");
        // Too narrow for any name: the count stands in for them; narrower still, nothing.
        let long_first = owned(&[("dependencies", 1), ("tls", 1)]);
        assert_eq!(message(&long_first, 12), " · 2 running");
        assert_eq!(message(&running, 5), "");
    }

    #[test]
    fn message_never_exceeds_its_budget() {
        let running = owned(&[
            ("dependency fault injection", 1),
            ("rate-limit burst", 3),
            ("tls", 1),
        ]);
        for max in 0..=NAMES_MAX {
            let text = message(&running, max);
            let names = text.strip_prefix(" · ").unwrap_or(&text);
            assert!(names.chars().count() <= max, "{max}: {text}");
        }
        assert_eq!(
            message(&running, NAMES_MAX),
            " · dependency fault injection +2"
        );
        assert_eq!(
            message(&running, 60),
            " · dependency fault injection, rate-limit burst ×3, tls"
        );
    }

    #[test]
    fn shorten_marks_the_cut() {
        assert_eq!(
            shorten("auditing https://x.test/", 40),
            "auditing https://x.test/"
        );
        let cut = shorten(&"a".repeat(200), LABEL_MAX);
        assert_eq!(cut.chars().count(), LABEL_MAX);
        assert!(cut.ends_with('…'));
    }

    /// A terminal of a given width recording what indicatif writes.
    #[derive(Debug, Default)]
    struct Screen {
        width: u16,
        out: Mutex<String>,
    }

    #[derive(Debug, Clone)]
    struct Shared(Arc<Screen>);

    impl Shared {
        /// A cursor move as a real terminal gets it: nothing for a move of 0.
        fn csi(&self, n: usize, code: char) -> std::io::Result<()> {
            if n == 0 {
                return Ok(());
            }
            indicatif::TermLike::write_str(self, &format!("\x1b[{n}{code}"))
        }
    }

    impl indicatif::TermLike for Shared {
        fn width(&self) -> u16 {
            self.0.width
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.csi(n, 'A')
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.csi(n, 'B')
        }
        fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
            self.csi(n, 'C')
        }
        fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
            self.csi(n, 'D')
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.out.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.write_str("\r\x1b[2K")
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The frames drawn on a `width`-column terminal, padding trimmed, and the raw output.
    fn draw(width: u16, label: &str, running: &[(String, usize)]) -> (Vec<String>, String) {
        let screen = Shared(Arc::new(Screen {
            width,
            out: Mutex::default(),
        }));
        let bar = bar(
            label,
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        );
        bar.tick();
        // A new message is drawn at once (no rate limit on this target).
        bar.set_message(message(running, NAMES_MAX));
        bar.finish_and_clear();
        let raw = screen.0.out.lock().unwrap().clone();
        let frames = raw
            .split("\r\x1b[2K")
            .filter(|f| !f.is_empty())
            .map(|f| {
                assert!(f.chars().count() <= usize::from(width), "{width}: {f:?}");
                f.trim_end().to_string()
            })
            .collect();
        (frames, raw)
    }

    #[test]
    fn bar_draws_label_time_and_names_and_is_cleared_at_the_end() {
        let running = owned(&[("tls", 1), ("health", 2), ("metrics", 1)]);
        let (frames, raw) = draw(100, "auditing https://x.test/", &running);
        assert_eq!(frames.len(), 2, "{raw:?}");
        let shape =
            regex::Regex::new(r"^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] auditing https://x\.test/ · \d+\.\ds$").unwrap();
        assert!(shape.is_match(&frames[0]), "{frames:?}");
        assert!(
            frames[1].ends_with("s · tls, health ×2, metrics"),
            "{frames:?}"
        );
        assert!(raw.ends_with("\r\x1b[2K"), "erased at the end: {raw:?}");
    }

    #[test]
    fn bar_fits_a_narrow_terminal_keeping_the_time_and_cutting_label_and_names() {
        let running = owned(&[
            ("dependency fault injection", 1),
            ("rate-limit burst", 3),
            ("tls", 1),
        ]);
        let long = format!("auditing https://{}.test/", "a".repeat(200));
        for width in [70, 80, 120] {
            for label in ["auditing https://x.test/", long.as_str()] {
                let (frames, raw) = draw(width, label, &running);
                let last = frames.last().unwrap();
                assert!(last.contains(" · 0.0s"), "{width}: {raw:?}");
                assert!(last.contains(" · de"), "{width}: {raw:?}");
            }
        }
        let (frames, _) = draw(80, &long, &[]);
        assert!(frames[0].contains("aaa… · 0.0s"), "{frames:?}");
    }
}
