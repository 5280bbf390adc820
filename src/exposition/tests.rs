//! Parser tests on fixtures modelled on the upstream format documents
//! (`tests/fixtures/metrics/`): the valid ones parse with zero problems, each invalid one fails
//! with a message naming its line.

use super::*;

const VALID_TEXT: &str = include_str!("../../tests/fixtures/metrics/valid-text.prom");
const VALID_OM: &str = include_str!("../../tests/fixtures/metrics/valid-openmetrics.txt");
const HTML: &str = include_str!("../../tests/fixtures/metrics/invalid-html.txt");
const OM_NO_EOF: &str = include_str!("../../tests/fixtures/metrics/invalid-openmetrics-no-eof.txt");
const NO_INF: &str = include_str!("../../tests/fixtures/metrics/invalid-histogram-no-inf.prom");
const NOT_CUMULATIVE: &str =
    include_str!("../../tests/fixtures/metrics/invalid-histogram-not-cumulative.prom");
const DUPLICATE: &str = include_str!("../../tests/fixtures/metrics/invalid-duplicate-series.prom");
const BAD_ESCAPE: &str = include_str!("../../tests/fixtures/metrics/invalid-bad-escape.prom");

fn messages(e: &Exposition) -> String {
    e.errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn upstream_text_example_parses_without_problems() {
    let e = parse_text(VALID_TEXT);
    assert!(e.is_valid(), "{}", messages(&e));
    assert_eq!(e.warning_count, 0, "{:?}", e.warnings);
    assert_eq!(e.format, Format::Text);
    let hist = e
        .family("http_request_duration_seconds")
        .expect("histogram");
    assert_eq!(hist.kind, MetricType::Histogram);
    assert_eq!(hist.samples.len(), 8);
    assert_eq!(hist.series_count(), 1);
    let file = e
        .samples_named("msdos_file_access_time_seconds")
        .next()
        .expect("msdos");
    assert_eq!(file.label("path"), Some("C:\\DIR\\FILE.TXT"));
    assert_eq!(file.label("error"), Some("Cannot find file:\n\"FILE.TXT\""));
    assert_eq!(
        e.samples_named("something_weird").next().map(|s| s.value),
        Some(f64::INFINITY)
    );
}

#[test]
fn names_with_colons_and_label_values_with_commas_are_kept() {
    let e = parse_text(VALID_TEXT);
    let s = e
        .samples_named("job:http_requests:rate5m")
        .next()
        .expect("colon name kept");
    assert_eq!(s.label("route"), Some("/a,/b"));
    assert_eq!(s.value, 4.5);
}

#[test]
fn upstream_openmetrics_example_parses_without_problems() {
    let e = parse_openmetrics(VALID_OM);
    assert!(e.is_valid(), "{}", messages(&e));
    assert_eq!(e.format, Format::OpenMetrics);
    let cpu = e.family("process_cpu_seconds").expect("counter family");
    assert_eq!(cpu.kind, MetricType::Counter);
    assert_eq!(cpu.unit.as_deref(), Some("seconds"));
    assert_eq!(cpu.samples[0].name, "process_cpu_seconds_total");
    assert_eq!(e.family("foo").map(|f| f.samples.len()), Some(8));
}

#[test]
fn content_type_chooses_the_grammar() {
    let om = parse(
        VALID_OM,
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Limits::default(),
    );
    assert_eq!(om.format, Format::OpenMetrics);
    assert!(om.is_valid(), "{}", messages(&om));
    let text = parse(
        VALID_TEXT,
        Some("text/plain; version=0.0.4; charset=utf-8"),
        Limits::default(),
    );
    assert_eq!(text.format, Format::Text);
    assert!(text.is_valid());
    // The OpenMetrics body read as text trips on its `_total` sample under a `counter` family.
    assert!(!parse_text(VALID_OM).is_valid());
}

#[test]
fn html_page_is_invalid_never_zero_samples() {
    let e = parse(HTML, Some("text/html; charset=utf-8"), Limits::default());
    assert!(!e.is_valid());
    let all = messages(&e);
    assert!(all.contains("text/html"), "{all}");
    assert!(all.contains("line 1: not a sample line"), "{all}");
    // Even served as text/plain, HTML is not an exposition.
    let e = parse_text(HTML);
    assert!(!e.is_valid());
    assert_eq!(e.errors[0].line, 1);
}

#[test]
fn openmetrics_without_eof_is_truncated() {
    let e = parse_openmetrics(OM_NO_EOF);
    assert!(messages(&e).contains("no # EOF"), "{}", messages(&e));
    let after = parse_openmetrics("# EOF\nup 1\n");
    assert!(messages(&after).contains("line 2: content after # EOF"));
}

#[test]
fn histogram_without_inf_bucket_is_invalid() {
    let e = parse_text(NO_INF);
    assert!(
        messages(&e).contains("line 2: histogram req_seconds has no le=\"+Inf\" bucket"),
        "{}",
        messages(&e)
    );
}

#[test]
fn non_cumulative_buckets_are_invalid() {
    let e = parse_text(NOT_CUMULATIVE);
    assert!(
        messages(&e).contains("line 3: histogram req_seconds: buckets are not cumulative"),
        "{}",
        messages(&e)
    );
}

#[test]
fn histogram_count_must_match_inf_bucket_and_sum_count_are_expected() {
    let e = parse_text("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_count 5\n");
    let all = messages(&e);
    assert!(
        all.contains("line 3: histogram h: _count 5 differs from the +Inf bucket 4"),
        "{all}"
    );
    let w: Vec<String> = e.warnings.iter().map(ToString::to_string).collect();
    assert!(w.iter().any(|w| w.contains("has no _sum")), "{w:?}");
}

#[test]
fn duplicate_series_are_invalid_whatever_the_label_order() {
    let e = parse_text(DUPLICATE);
    assert!(
        messages(&e).contains("line 3: duplicate series http_requests_total"),
        "{}",
        messages(&e)
    );
}

#[test]
fn bad_escape_names_the_line() {
    let e = parse_text(BAD_ESCAPE);
    assert!(
        messages(&e).contains("line 1: up: label job: invalid escape \\q"),
        "{}",
        messages(&e)
    );
}

#[test]
fn openmetrics_counters_need_total_and_no_blank_lines() {
    let e = parse_openmetrics("# TYPE a counter\na 1\n\n# EOF\n");
    let all = messages(&e);
    assert!(all.contains("line 2"), "{all}");
    assert!(all.contains("line 3: blank line"), "{all}");
}

#[test]
fn unit_must_be_a_suffix() {
    let e = parse_openmetrics("# TYPE a_bytes gauge\n# UNIT a_bytes seconds\na_bytes 1\n# EOF\n");
    assert!(messages(&e).contains("line 2: metric name a_bytes must end with its unit _seconds"));
}

#[test]
fn summary_quantile_must_be_a_fraction() {
    let e = parse_text("# TYPE s summary\ns{quantile=\"2\"} 1\ns_sum 1\ns_count 1\n");
    assert!(
        messages(&e).contains("line 2: s: quantile=\"2\""),
        "{}",
        messages(&e)
    );
}

#[test]
fn caps_stop_parsing_and_say_so() {
    let body: String = (0..100).map(|i| format!("m{{i=\"{i}\"}} 1\n")).collect();
    let e = parse(
        &body,
        Some("text/plain"),
        Limits {
            max_lines: 1000,
            max_series: 10,
        },
    );
    assert!(e.capped);
    assert_eq!(e.sample_count(), 10);
    let e = parse(
        &body,
        Some("text/plain"),
        Limits {
            max_lines: 5,
            max_series: 1000,
        },
    );
    assert!(e.capped && e.lines == 5);
}

#[test]
fn render_round_trips_the_fixtures() {
    for (body, format) in [(VALID_TEXT, Format::Text), (VALID_OM, Format::OpenMetrics)] {
        let first = match format {
            Format::Text => parse_text(body),
            Format::OpenMetrics => parse_openmetrics(body),
        };
        let rendered = first.render();
        let again = match format {
            Format::Text => parse_text(&rendered),
            Format::OpenMetrics => parse_openmetrics(&rendered),
        };
        assert!(again.is_valid(), "{}\n{rendered}", messages(&again));
        assert_eq!(strip_lines(&first.families), strip_lines(&again.families));
    }
}

fn strip_lines(families: &[Family]) -> Vec<Family> {
    families
        .iter()
        .cloned()
        .map(|mut f| {
            for s in &mut f.samples {
                s.line = 0;
            }
            f
        })
        .collect()
}

#[test]
fn observations_with_infinite_values_survive_json() {
    let e = parse_text(VALID_TEXT);
    let json = serde_json::to_string(&e).expect("serialise");
    let back: Exposition = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(
        back.samples_named("something_weird")
            .next()
            .map(|s| s.value),
        Some(f64::INFINITY)
    );
}

/// A text exposition of `n` gauge samples (one line each, after two metadata lines).
fn gauges(n: usize) -> String {
    let mut body = String::from("# HELP g A gauge.\n# TYPE g gauge\n");
    for i in 0..n {
        body.push_str(&format!("g{{i=\"{i}\"}} 1\n"));
    }
    body
}

#[test]
fn parse_until_gives_up_at_once_when_already_told_to_stop() {
    let calls = std::cell::Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        true
    };
    let started = std::time::Instant::now();
    let cut = parse_until(
        &gauges(100_000),
        Some("text/plain"),
        Limits::default(),
        &stop,
    );
    assert_eq!(cut, Err(Interrupted { lines: 0 }));
    assert_eq!(calls.get(), 1, "asked once, before the first line");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn parse_until_asks_every_few_lines_and_stops_between_checks() {
    let calls = std::cell::Cell::new(0usize);
    // Stop at the third question: after 2 × STOP_CHECK_LINES lines.
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() >= 3
    };
    let cut = parse_until(
        &gauges(10_000),
        Some("text/plain"),
        Limits::default(),
        &stop,
    )
    .expect_err("told to stop");
    assert_eq!(cut.lines, 2 * STOP_CHECK_LINES);
    assert_eq!(calls.get(), 3, "never asked again once stopped");
    let om = format!("{}# EOF\n", gauges(10_000));
    calls.set(0);
    let cut = parse_until(
        &om,
        Some("application/openmetrics-text"),
        Limits::default(),
        &stop,
    )
    .expect_err("told to stop");
    assert_eq!(cut.lines, 2 * STOP_CHECK_LINES);
}

#[test]
fn parse_until_can_be_stopped_while_validating_histograms() {
    // 1,000 histogram series: 4,000 lines read (16 questions), then the validation asks too.
    let mut body = String::from("# TYPE h histogram\n");
    for i in 0..1000 {
        body.push_str(&format!(
            "h_bucket{{i=\"{i}\",le=\"1\"}} 1\nh_bucket{{i=\"{i}\",le=\"+Inf\"}} 1\nh_sum{{i=\"{i}\"}} 1\nh_count{{i=\"{i}\"}} 1\n"
        ));
    }
    let line_checks = (4001usize).div_ceil(STOP_CHECK_LINES);
    let calls = std::cell::Cell::new(0usize);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() > line_checks + 2
    };
    let cut = parse_until(&body, Some("text/plain"), Limits::default(), &stop);
    assert_eq!(
        cut,
        Err(Interrupted { lines: 4001 }),
        "all lines read, stopped validating"
    );
}

#[test]
fn parse_until_that_never_stops_is_parse() {
    for (body, ct) in [
        (VALID_TEXT, "text/plain; version=0.0.4"),
        (VALID_OM, "application/openmetrics-text; version=1.0.0"),
        (NOT_CUMULATIVE, "text/plain"),
        (HTML, "text/html"),
    ] {
        let whole = parse(body, Some(ct), Limits::default());
        assert_eq!(
            parse_until(body, Some(ct), Limits::default(), &|| false),
            Ok(whole)
        );
    }
}

#[test]
fn a_stop_flag_set_from_another_thread_ends_a_long_parse() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    // About 1 MiB: the size of a hostile exposition cut at run.max_body_bytes.
    let body = gauges(60_000);
    let flag = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let (seen, counted) = (flag.clone(), asked.clone());
    let parsing = std::thread::spawn(move || {
        parse_until(&body, Some("text/plain"), Limits::default(), &|| {
            counted.fetch_add(1, Ordering::Relaxed);
            seen.load(Ordering::Relaxed)
        })
    });
    // Wait until the parse is under way, then tell it to stop.
    while asked.load(Ordering::Relaxed) < 2 && !parsing.is_finished() {
        std::thread::yield_now();
    }
    flag.store(true, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let result = parsing.join().expect("the parsing thread");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "stopped soon after the flag was set"
    );
    // Stopped between two checks (the usual case), or already finished on a very fast machine:
    // never a partial result.
    match result {
        Err(cut) => assert!(
            cut.lines > 0 && cut.lines % STOP_CHECK_LINES == 0,
            "{cut:?}"
        ),
        Ok(e) => assert_eq!(e.sample_count(), 60_000),
    }
}
