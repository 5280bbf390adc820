#!/usr/bin/env python3
"""Turns bench/bench.py's raw JSON into the Markdown table printed by bench/run.sh.

Usage: report.py RAW.json [--update BENCHMARKS.md]
With --update, the block between `<!-- bench:begin -->` and `<!-- bench:end -->` in the given
file is replaced by the table, so the document always holds the command's latest output.
"""

import json
import sys
from pathlib import Path

# The targets of issues 9, 15 and 17 (a benchmark, not a test).
T_PASSIVE_WALL_S = 0.040  # issue 17 (issue 9: 0.3 s)
T_PASSIVE_RSS_MB = 20  # issue 17 (issue 9: 60 MB)
T_PASSIVE_REQUESTS = 100
T_FLEET_N = 1000
T_FLEET_WALL_S = 8  # 1,000 × HTTPS+h2 (issue 17; issue 9: 15 s)
T_FLEET_RSS_MB = 150  # (issue 17; issue 9: 300 MB)
T_FLEET_CPU_PER_REQUEST_MS = 0.08
T_STREAM_FLAT = 1.10  # RSS at the last mark ÷ RSS at the first: "flat" = within 10 %


def f_s(x):
    if x is None:
        return "—"
    return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def f_mb(x):
    return "—" if x is None else f"{x:.1f} MB"


def f_n(x, digits=0):
    return "—" if x is None else f"{x:.{digits}f}"


def f_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.1f}×" if r >= 1 else f"{r:.2f}×"


def f_load(l):
    return "—" if not l else " / ".join(f"{x:.2f}" for x in l)


def mark(ok):
    return "met" if ok else "**missed**"


def render(raw):
    out = []
    w = out.append
    m = raw["machine"]
    w(f"Run {raw['started']} → {raw['finished']} · {m['nproc']} CPUs ({m['cpu']}) · "
      f"{m['mem_gb']:.1f} GB RAM · Linux {m['kernel']} · load average (1/5/15 min) "
      f"before {f_load(raw.get('load_before'))}, after {f_load(raw.get('load_after'))}")
    v = raw.get("versions", {})
    w("")
    w("Versions: " + " · ".join(f"{k} `{val}`" for k, val in v.items() if val))
    c = raw["config"]
    targets = []

    p1 = raw.get("part1")
    if p1:
        w("")
        w(f"### 1. Passive audit of the demo target (`--profile production`; medians of {c['runs']} runs after {c['warmup']} warm-up)")
        w("")
        w("| demo profile | wall (min–max) | CPU user+sys | peak RSS | requests sent (max) | engine duration_ms | verdict | failed runs | load after |")
        w("|---|---|---|---|---|---|---|---|---|")
        for prof, s in p1.items():
            w(f"| {prof} | {f_s(s['wall_s'])} ({f_s(s['wall_min_s'])}–{f_s(s['wall_max_s'])}) | {f_s(s['cpu_s'])} | "
              f"{f_mb(s['rss_mb'])} | {f_n(s['requests_sent'])} ({f_n(s['requests_max'])}) | {f_n(s['duration_ms'])} | "
              f"{s.get('verdict') or '—'} | {s['failures']}/{s['runs']} | {f_load(s.get('load_after'))} |")
            targets.append((f"passive audit ({prof}) wall ≤ {T_PASSIVE_WALL_S * 1000:.0f} ms", f_s(s["wall_s"]),
                            s["wall_s"] is not None and s["wall_s"] <= T_PASSIVE_WALL_S))
            targets.append((f"passive audit ({prof}) peak RSS ≤ {T_PASSIVE_RSS_MB} MB", f_mb(s["rss_mb"]),
                            s["rss_mb"] is not None and s["rss_mb"] <= T_PASSIVE_RSS_MB))
            targets.append((f"passive audit ({prof}) ≤ {T_PASSIVE_REQUESTS} requests", f_n(s["requests_max"]),
                            s["requests_max"] is not None and s["requests_max"] <= T_PASSIVE_REQUESTS))

    p2 = raw.get("part2")
    if p2:
        w("")
        w(f"### 2. Fleet: `audit --targets` at concurrency {p2['concurrency']} against Debian nginx "
          f"(passive; medians of {c['fleet_runs']} runs)")
        w("")
        nginx = (p2.get("nginx_version") or "nginx").replace("nginx version: ", "")
        w(f"Every target (`/t0000/`, `/t0001/`, …) is served by one {nginx} "
          "(one worker, 1,024 worker connections) on the same 2 cores: many targets behind one "
          "address, sharing readyprobe's per-host connection limit (6). *per request* = prober CPU "
          "(user+sys) ÷ requests the audits sent (the summary's `requests` column). *error "
          "findings* and *nginx \"not enough\"* are totals over all runs of that row.")
        w("")
        w("| fleet | wall (min–max) | prober CPU user+sys | per request | prober peak RSS | requests | nginx CPU | audited / unreachable | error findings | nginx \"not enough\" | failed runs | load (1 min) per run |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|")
        schemes = p2.get("schemes") or {"mixed": p2.get("sizes", {})}
        label = {"http": "plain HTTP", "https": "HTTPS + h2", "mixed": "half HTTP, half HTTPS + h2"}
        errors = 0
        for scheme, sizes in schemes.items():
            for n, s in sizes.items():
                audited = "—" if s.get("audited") is None else str(s["audited"])
                per = s.get("cpu_per_request_ms")
                loads = " · ".join(f"{l[0]:.1f}" for l in s.get("loads") or [] if l)
                w(f"| {int(n):,} × {label.get(scheme, scheme)} | {f_s(s['wall_s'])} ({f_s(s['wall_min_s'])}–{f_s(s['wall_max_s'])}) | "
                  f"{f_s(s['cpu_s'])} | {'—' if per is None else f'{per:.3f} ms'} | {f_mb(s['rss_mb'])} | "
                  f"{f_n(s.get('requests'))} | {f_s(s['server_cpu_s'])} | {audited} / {s.get('unreachable')} | "
                  f"{f_n(s.get('error_findings'))} | {f_n(s.get('not_enough'))} | "
                  f"{s['failures']}/{s['runs']} | {loads or f_load(s.get('load_after'))} |")
                errors += s.get("error_findings") or 0
                if scheme == "https" and int(n) == T_FLEET_N:
                    ok = s["failures"] == 0
                    targets.append((f"1,000 × HTTPS+h2 wall ≤ {T_FLEET_WALL_S} s", f_s(s["wall_s"]),
                                    ok and s["wall_s"] is not None and s["wall_s"] <= T_FLEET_WALL_S))
                    targets.append((f"1,000 × HTTPS+h2 prober CPU per request ≤ {T_FLEET_CPU_PER_REQUEST_MS} ms",
                                    "—" if per is None else f"{per:.3f} ms",
                                    ok and per is not None and per <= T_FLEET_CPU_PER_REQUEST_MS))
                    targets.append((f"1,000 × HTTPS+h2 peak RSS ≤ {T_FLEET_RSS_MB} MB", f_mb(s["rss_mb"]),
                                    ok and s["rss_mb"] is not None and s["rss_mb"] <= T_FLEET_RSS_MB))
        targets.append(("fleet: no `error` finding in any run", f_n(errors), errors == 0))

    p4 = raw.get("part4")
    if p4:
        w("")
        w(f"### 4. Streaming: {p4['targets']:,} plain-HTTP targets with `--out-dir` (one run)")
        w("")
        w("The prober's VmRSS (from `/proc`, every 50 ms) against the number of reports already "
          "on disk; *RSS at k* is the highest sample while at most k audits were written.")
        w("")
        marks = p4.get("marks", {})
        w("| " + " | ".join(["wall", "prober CPU", "per request", "peak RSS"]
                            + [f"RSS at {int(k):,}" for k in marks]
                            + ["reports written", "error findings", "load after"]) + " |")
        w("|" + "---|" * (7 + len(marks)))
        per = p4.get("cpu_per_request_ms")
        w("| " + " | ".join([f_s(p4.get("wall_s")), f_s(p4.get("cpu_s")),
                             "—" if per is None else f"{per:.3f} ms", f_mb(p4.get("rss_mb"))]
                            + [f_mb(v) for v in marks.values()]
                            + [f_n(p4.get("reports_written")), f_n(p4.get("error_findings")),
                               f_load(p4.get("load_after"))]) + " |")
        curve = p4.get("curve") or []
        if curve:
            w("")
            w("RSS curve (finished audits → MB): " + " · ".join(f"{k:,} → {v:.0f}" for k, v in curve))
        vals = [v for v in marks.values() if v is not None]
        if len(vals) >= 2:
            growth = vals[-1] / vals[0]
            targets.append((f"{p4['targets']:,} plain HTTP: RSS flat after the first 1,000 (last ÷ first mark ≤ {T_STREAM_FLAT})",
                            f"{growth:.2f}×", growth <= T_STREAM_FLAT and p4.get("audited") == p4["targets"]))

    p3 = raw.get("part3")
    if p3:
        base = p3.get("readyprobe_passive", {})
        w("")
        w(f"### 3. Side by side against one local target ({p3['profile']} demo at `{p3.get('url')}`, same run)")
        w("")
        w("Ratios are *peer ÷ readyprobe passive audit*: above 1× the peer is slower / bigger. The readyprobe "
          "figure is the whole passive audit (TLS + headers + health + errors + exposure …), so each ratio "
          "compares the peer's slice against all of readyprobe's work — conservative for readyprobe.")
        w("")
        w("| tool | comparable slice | wall (min–max) | CPU user+sys | peak RSS | runs ok | wall ratio | CPU ratio | RSS ratio |")
        w("|---|---|---|---|---|---|---|---|---|")
        rows = [
            ("readyprobe passive (`--profile production`)", "the reference: full passive audit", "readyprobe_passive"),
            ("readyprobe default profile (`--profile staging`)", "full audit (a bare URL configures no active probe)", "readyprobe_full"),
            ("MDN HTTP Observatory CLI", "headers grade ↔ headers.*, cookies.*, cors.*", "mdn"),
            ("testssl.sh `--fast`", "TLS scan ↔ tls.*", "testssl_fast"),
            ("testssl.sh (default)", "TLS scan ↔ tls.*", "testssl_default"),
            ("blackbox_exporter http `/probe`", "HTTP probe ↔ full audit", "blackbox"),
        ]
        for name, slice_, key in rows:
            s = p3.get(key)
            if s is None:
                continue
            if "skipped" in s:
                w(f"| {name} | {slice_} | not run: {s['skipped']} | | | | | | |")
                continue
            extra = ""
            if key.startswith("readyprobe"):
                extra = f" · {f_n(s.get('requests_sent'))} requests"
            if key == "mdn" and s.get("grade"):
                extra = f" · grade {s['grade']} ({s.get('score')})"
            if key == "mdn" and s.get("error"):
                extra += f" · error: {s['error'][:120]}"
            w(f"| {name}{extra} | {slice_} | {f_s(s['wall_s'])} ({f_s(s['wall_min_s'])}–{f_s(s['wall_max_s'])}) | "
              f"{f_s(s['cpu_s'])} | {f_mb(s['rss_mb'])} | {s['runs'] - s['failures']}/{s['runs']} | "
              f"{f_ratio(s['wall_s'], base.get('wall_s'))} | {f_ratio(s['cpu_s'], base.get('cpu_s'))} | "
              f"{f_ratio(s['rss_mb'], base.get('rss_mb'))} |")
        if "blackbox" in p3 and "note" in p3["blackbox"]:
            w("")
            w(f"blackbox_exporter: {p3['blackbox']['note']}.")
        if p3.get("ports") != "443/80":
            w("")
            w(f"The shared target could not listen on 127.0.0.1:443/:80: {p3.get('ports_error')}")

    if targets:
        w("")
        w("### Targets (issues 9, 15 and 17)")
        w("")
        w("| target | figure | |")
        w("|---|---|---|")
        for name, fig, ok in targets:
            w(f"| {name} | {fig} | {mark(ok)} |")
    return "\n".join(out) + "\n"


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    raw = json.loads(Path(args[0]).read_text())
    table = render(raw)
    sys.stdout.write(table)
    if len(args) == 3 and args[1] == "--update":
        doc = Path(args[2])
        text = doc.read_text()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        i, j = text.find(begin), text.find(end)
        if i < 0 or j < i:
            sys.exit(f"{doc}: no {begin} … {end} block")
        doc.write_text(text[: i + len(begin)] + "\n" + table + text[j:])
        print(f"updated {doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
