#!/usr/bin/env python3
"""Runs the readyprobe benchmarks and writes raw measurements as JSON (see bench/run.sh).

Every process is started in its own session and measured with wait4(2): wall time (monotonic
clock around fork→reap), user+sys CPU and peak RSS (ru_maxrss, which on Linux covers the process
and every descendant it reaped — testssl.sh's openssl children included). Long-lived servers
(the demo targets, blackbox_exporter) are read from /proc instead. Only loopback targets are
used; every wait is bounded; every process started here is killed on exit, also on SIGINT/SIGTERM.

Usage: bench.py --bin target/release/readyprobe --out bench/out/raw.json [--parts 1,2,3]
Environment knobs (all optional): BENCH_RUNS (10+ runs per figure, default 15), BENCH_WARMUP (2),
BENCH_FLEET_RUNS (3), BENCH_FLEET_SIZES ("100,1000"), BENCH_FLEET_CONCURRENCY (100),
BENCH_PEER_RUNS (10), BENCH_TESTSSL_RUNS (1), BENCH_PEER_PROFILE (hardened), BENCH_TOOLS
(bench/.tools).
"""

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOOLS = Path(os.environ.get("BENCH_TOOLS", HERE / ".tools"))
RUNS = max(10, int(os.environ.get("BENCH_RUNS", "15")))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
FLEET_RUNS = max(1, int(os.environ.get("BENCH_FLEET_RUNS", "3")))
FLEET_SIZES = [int(x) for x in os.environ.get("BENCH_FLEET_SIZES", "100,1000").split(",")]
FLEET_CONCURRENCY = int(os.environ.get("BENCH_FLEET_CONCURRENCY", "100"))
PEER_RUNS = max(3, int(os.environ.get("BENCH_PEER_RUNS", "10")))
TESTSSL_RUNS = max(1, int(os.environ.get("BENCH_TESTSSL_RUNS", "1")))
PEER_PROFILE = os.environ.get("BENCH_PEER_PROFILE", "hardened")

BACKGROUND = []  # Popen objects of servers started here, killed at exit


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, 1 << 20), hard))


def kill_group(p, grace=3.0):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)


def cleanup():
    while BACKGROUND:
        kill_group(BACKGROUND.pop())


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def start_background(cmd, stdout_path, stderr_path, env=None):
    out = open(stdout_path, "wb")
    err = open(stderr_path, "wb")
    p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env)
    out.close()
    err.close()
    BACKGROUND.append(p)
    return p


def stop_background(p):
    kill_group(p)
    if p in BACKGROUND:
        BACKGROUND.remove(p)


def measure(cmd, timeout, stdout_path=None, env=None):
    """Runs cmd to completion (killed after `timeout` s); returns wall/cpu/rss, exit, stdout."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env)
    timed_out = threading.Event()

    def expire():
        timed_out.set()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # stdout/stderr are drained by threads so a chatty tool cannot block on a full pipe.
    chunks = {"out": [], "err": []}

    def drain(stream, key):
        for block in iter(lambda: stream.read(65536), b""):
            chunks[key].append(block)

    readers = []
    if p.stdout is not None:
        readers.append(threading.Thread(target=drain, args=(p.stdout, "out"), daemon=True))
    readers.append(threading.Thread(target=drain, args=(p.stderr, "err"), daemon=True))
    for r in readers:
        r.start()
    timer = threading.Timer(timeout, expire)
    timer.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join(timeout=10)
    if stdout_path:
        out.close()
        stdout = Path(stdout_path).read_bytes()
    else:
        stdout = b"".join(chunks["out"])
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "rss_mb": ru.ru_maxrss / 1024.0,
        "exit": p.returncode,
        "timed_out": timed_out.is_set(),
        "stdout": stdout.decode("utf-8", "replace"),
        "stderr": b"".join(chunks["err"]).decode("utf-8", "replace")[-2000:],
    }


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(samples, extra_keys=()):
    keys = ["wall_s", "cpu_s", "rss_mb", *extra_keys]
    s = {k: median([x.get(k) for x in samples]) for k in keys}
    walls = sorted(x["wall_s"] for x in samples)
    s["wall_min_s"] = walls[0] if walls else None
    s["wall_max_s"] = walls[-1] if walls else None
    s["runs"] = len(samples)
    s["failures"] = sum(1 for x in samples if not x.get("ok", True))
    return s


def loadavg():
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def proc_cpu_s(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime


def proc_hwm_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gb": mem_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def tool_version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        text = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)
        lines = [l.strip(" #") for l in text.splitlines() if re.search(r"\d+\.\d+", l)]
        return lines[0] if lines else "?"
    except (OSError, subprocess.TimeoutExpired):
        return None


# ---------------------------------------------------------------------------------------------
# demo targets

class Demo:
    """A standalone `readyprobe demo` process (one target, or --count N)."""

    def __init__(self, binary, workdir, profile, https="127.0.0.1:0", http="127.0.0.1:0",
                 count=None, name="demo"):
        self.ca = workdir / f"{name}-ca.pem"
        self.stdout = workdir / f"{name}.stdout"
        cmd = [str(binary), "demo", "--profile", profile, "--ca-out", str(self.ca),
               "--listen", https, "--http-listen", http]
        if count:
            cmd += ["--count", str(count)]
        self.count = count
        if self.ca.exists():
            self.ca.unlink()
        self.proc = start_background(cmd, self.stdout, workdir / f"{name}.stderr")
        if count:
            def urls():
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {self.proc.returncode}")
                lines = [l for l in self.stdout.read_text().splitlines() if l.startswith("https://")]
                return lines if len(lines) >= count else None
            self.urls = wait_for(urls, 300, f"{count} demo targets")
            self.url = self.urls[0]
        else:
            def url():
                if self.proc.poll() is not None:
                    err = (workdir / f"{name}.stderr").read_text()[-500:]
                    raise RuntimeError(f"{name} exited ({self.proc.returncode}): {err}")
                m = re.search(r"serving (https://\S+)", self.stdout.read_text())
                return m.group(1) if m else None
            self.url = wait_for(url, 60, "the demo URL")
            self.urls = [self.url]
        wait_for(lambda: self.ca.exists(), 30, "the demo CA file")

    def stop(self):
        stop_background(self.proc)


def audit_cmd(binary, url, ca, profile="production"):
    return [str(binary), "audit", url, "--ca-file", str(ca), "--profile", profile,
            "--format", "json", "--no-color"]


def run_audits(binary, url, ca, profile, runs, warmup):
    samples = []
    for i in range(warmup + runs):
        m = measure(audit_cmd(binary, url, ca, profile), timeout=120)
        try:
            rep = json.loads(m["stdout"])
            m["requests_sent"] = rep.get("requests_sent")
            m["duration_ms"] = rep.get("duration_ms")
            m["verdict"] = rep.get("verdict")
            m["ok"] = m["exit"] in (0, 1) and not m["timed_out"]
        except json.JSONDecodeError:
            m["requests_sent"] = m["duration_ms"] = m["verdict"] = None
            m["ok"] = False
            log(f"audit output is not JSON (exit {m['exit']}): {m['stderr'][-300:]}")
        m.pop("stdout")
        if i >= warmup:
            samples.append(m)
    s = summarize(samples, ("requests_sent", "duration_ms"))
    s["verdict"] = samples[-1].get("verdict") if samples else None
    s["requests_max"] = max((x["requests_sent"] or 0) for x in samples) if samples else None
    return s


# ---------------------------------------------------------------------------------------------
# part 1: the passive audit of the demo

def part1(binary, work):
    out = {}
    for profile in ("flawed", "hardened"):
        demo = Demo(binary, work, profile, name=f"p1-{profile}")
        try:
            log(f"part 1: passive audit of the {profile} demo at {demo.url}, {WARMUP} warm-up + {RUNS} runs")
            out[profile] = run_audits(binary, demo.url, demo.ca, "production", RUNS, WARMUP)
            out[profile]["load_after"] = loadavg()
        finally:
            demo.stop()
    return out


# ---------------------------------------------------------------------------------------------
# part 2: fleet

def fleet_supported(binary):
    r = subprocess.run([str(binary), "audit", "--help"], capture_output=True, text=True, timeout=30)
    return "--targets" in r.stdout and "--fleet-concurrency" in r.stdout


def part2(binary, work):
    biggest = max(FLEET_SIZES)
    out = {"concurrency": FLEET_CONCURRENCY, "sizes": {}, "mode": None}
    log(f"part 2: starting {biggest} demo targets in one process")
    t0 = time.perf_counter()
    demo = Demo(binary, work, "flawed", count=biggest, name="p2-fleet")
    out["demo_start_s"] = time.perf_counter() - t0
    out["demo_rss_mb_idle"] = proc_hwm_mb(demo.proc.pid)
    try:
        native = fleet_supported(binary)
        out["mode"] = "audit --targets" if native else "parallel processes (stand-in)"
        for n in FLEET_SIZES:
            targets = work / f"targets-{n}.txt"
            targets.write_text("\n".join(demo.urls[:n]) + "\n")
            samples = []
            for i in range(FLEET_RUNS):
                log(f"part 2: fleet of {n} at concurrency {FLEET_CONCURRENCY}, run {i + 1}/{FLEET_RUNS}")
                if native:
                    cmd = [str(binary), "audit", "--targets", str(targets), "--ca-file", str(demo.ca),
                           "--profile", "production", "--fleet-concurrency", str(FLEET_CONCURRENCY),
                           "--no-color"]
                else:
                    cmd = ["bash", "-c",
                           f'xargs -P {FLEET_CONCURRENCY} -I URL "$0" audit URL --ca-file "$1" '
                           f'--profile production --quiet < "$2"; s=$?; [ $s -le 123 ] && exit 0 || exit $s',
                           str(binary), str(demo.ca), str(targets)]
                cpu_before = proc_cpu_s(demo.proc.pid)
                m = measure(cmd, timeout=900)
                m["server_cpu_s"] = proc_cpu_s(demo.proc.pid) - cpu_before
                table = m.pop("stdout")
                # Rows of the summary table: │ line ┆ target ┆ verdict ┆ …; "—" = no report.
                rows = [[c.strip() for c in l.strip("│ ").split("┆")] for l in table.splitlines()]
                audited = sum(1 for r in rows if len(r) > 2 and r[0].isdigit() and r[2] not in ("", "—"))
                unreachable = m["stderr"].count("could not be reached")
                m["audited"] = audited if native else None
                m["unreachable"] = unreachable
                m["ok"] = (m["exit"] in (0, 1)) and not m["timed_out"]
                if not m["ok"]:
                    log(f"fleet run failed: exit {m['exit']}, stderr tail: {m['stderr'][-400:]}")
                m["audits_per_s"] = n / m["wall_s"] if m["wall_s"] else None
                m["load"] = loadavg()
                samples.append(m)
            s = summarize(samples, ("audits_per_s", "server_cpu_s"))
            s["audited"] = samples[-1]["audited"]
            s["unreachable"] = samples[-1]["unreachable"]
            s["load_after"] = loadavg()
            out["sizes"][str(n)] = s
        out["demo_rss_mb_peak"] = proc_hwm_mb(demo.proc.pid)
    finally:
        demo.stop()
    return out


# ---------------------------------------------------------------------------------------------
# part 3: peers against one local target

def mdn_dir():
    return TOOLS / "npm" / "node_modules" / "@mdn" / "mdn-http-observatory"


def run_mdn(host, ca, runs):
    pkg = mdn_dir()
    scan = pkg / "src" / "scan.js"
    if not scan.exists():
        return {"skipped": f"not installed ({scan} missing)"}
    node = shutil.which("node")
    env = dict(os.environ)
    # The package's bin wrapper overwrites NODE_EXTRA_CA_CERTS with its Mozilla bundle; call the
    # CLI script itself so the demo CA can be trusted the supported Node way.
    env["NODE_EXTRA_CA_CERTS"] = str(ca)
    samples = []
    for i in range(1 + runs):
        m = measure([node, str(scan), host], timeout=180, env=env)
        try:
            rep = json.loads(m["stdout"])
            m["ok"] = "error" not in rep and m["exit"] == 0
            m["grade"] = rep.get("scan", {}).get("grade")
            m["score"] = rep.get("scan", {}).get("score")
            m["error"] = rep.get("error")
        except json.JSONDecodeError:
            m["ok"] = False
            m["error"] = (m["stdout"] or m["stderr"])[-300:]
        m.pop("stdout")
        if i >= 1:
            samples.append(m)
    s = summarize(samples)
    s["grade"] = samples[-1].get("grade")
    s["score"] = samples[-1].get("score")
    s["error"] = next((x["error"] for x in samples if x.get("error")), None)
    return s


def run_testssl(hostport, runs, fast):
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    if not exe:
        return {"skipped": "testssl.sh is not installed"}
    samples = []
    for _ in range(runs):
        cmd = [exe, "--quiet", "--color", "0", "--warnings", "batch"]
        if fast:
            cmd.append("--fast")
        cmd.append(hostport)
        m = measure(cmd, timeout=900)
        # testssl.sh ends a completed scan with " Done 2026-01-01 12:00:00 [  42s] -->> host:443 <<--".
        m["ok"] = not m["timed_out"] and re.search(r"^\s*Done \d{4}-\d\d-\d\d", m["stdout"], re.M) is not None
        m.pop("stdout")
        samples.append(m)
    return summarize(samples)


def run_blackbox(url, ca, work, runs):
    exe = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
    if not exe:
        return {"skipped": "prometheus-blackbox-exporter is not installed"}
    cfg = work / "blackbox.yml"
    cfg.write_text(
        "modules:\n"
        "  http_2xx:\n"
        "    prober: http\n"
        "    timeout: 10s\n"
        "    http:\n"
        "      preferred_ip_protocol: ip4\n"
        "      tls_config:\n"
        f"        ca_file: {ca}\n"
    )
    port = free_port()
    p = start_background([exe, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}"],
                         work / "blackbox.stdout", work / "blackbox.stderr")
    try:
        def up():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=2):
                    return True
            except OSError:
                return False
        wait_for(up, 30, "blackbox_exporter")
        probe = f"http://127.0.0.1:{port}/probe?module=http_2xx&target={url}"
        cpu0 = proc_cpu_s(p.pid)
        samples = []
        for i in range(1 + runs):
            t0 = time.perf_counter()
            with urllib.request.urlopen(probe, timeout=30) as r:
                body = r.read().decode()
            wall = time.perf_counter() - t0
            ok = re.search(r"^probe_success 1", body, re.M) is not None
            if i == 0:
                cpu0 = proc_cpu_s(p.pid)
                continue
            samples.append({"wall_s": wall, "cpu_s": None, "rss_mb": None, "ok": ok})
        cpu = (proc_cpu_s(p.pid) - cpu0) / runs
        s = summarize(samples)
        s["cpu_s"] = cpu
        s["rss_mb"] = proc_hwm_mb(p.pid)
        s["note"] = "wall = one /probe scrape; CPU = exporter CPU per probe; RSS = exporter peak"
        return s
    finally:
        stop_background(p)


def part3(binary, work):
    out = {"profile": PEER_PROFILE}
    # The MDN CLI takes a bare hostname and always dials :443 and :80, so the shared target
    # listens there (root is needed to bind them). Elsewhere MDN is reported as not run.
    demo = None
    try:
        demo = Demo(binary, work, PEER_PROFILE, https="127.0.0.1:443", http="127.0.0.1:80", name="p3-peer")
        out["ports"] = "443/80"
    except RuntimeError as e:
        out["ports_error"] = str(e).strip().splitlines()[-1][:300]
        log(f"part 3: cannot listen on 127.0.0.1:443/:80 ({out['ports_error']}); ephemeral ports, MDN skipped")
        demo = Demo(binary, work, PEER_PROFILE, name="p3-peer")
        out["ports"] = "ephemeral"
    try:
        url = demo.url
        hostport = re.match(r"https://([^/]+)/", url).group(1)
        out["url"] = url
        log(f"part 3: readyprobe against {url}")
        out["readyprobe_passive"] = run_audits(binary, url, demo.ca, "production", PEER_RUNS, 1)
        out["readyprobe_full"] = run_audits(binary, url, demo.ca, "staging", PEER_RUNS, 1)
        if out["ports"] == "443/80":
            log("part 3: MDN HTTP Observatory")
            out["mdn"] = run_mdn("127.0.0.1", demo.ca, PEER_RUNS)
        else:
            out["mdn"] = {"skipped": "the MDN CLI only scans host:443 and host:80, which could not be bound: "
                          + out.get("ports_error", "?")}
        log("part 3: blackbox_exporter")
        out["blackbox"] = run_blackbox(url, demo.ca, work, PEER_RUNS)
        log("part 3: testssl.sh --fast")
        out["testssl_fast"] = run_testssl(hostport, TESTSSL_RUNS, True)
        log("part 3: testssl.sh (default)")
        out["testssl_default"] = run_testssl(hostport, TESTSSL_RUNS, False)
        out["load_after"] = loadavg()
    finally:
        demo.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--parts", default="1,2,3")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    raise_nofile()
    binary = Path(args.bin).resolve()
    out_path = Path(args.out)
    work = out_path.parent / "work"
    work.mkdir(parents=True, exist_ok=True)
    parts = {p.strip() for p in args.parts.split(",")}
    raw = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "load_before": loadavg(),
        "versions": {
            "readyprobe": tool_version([str(binary), "--version"]),
            "testssl": tool_version([shutil.which("testssl") or "testssl", "--version"]),
            "blackbox_exporter": tool_version([shutil.which("prometheus-blackbox-exporter") or "x", "--version"]),
            "node": tool_version(["node", "--version"]),
        },
        "config": {"runs": RUNS, "warmup": WARMUP, "fleet_runs": FLEET_RUNS,
                   "fleet_sizes": FLEET_SIZES, "fleet_concurrency": FLEET_CONCURRENCY,
                   "peer_runs": PEER_RUNS, "testssl_runs": TESTSSL_RUNS},
    }
    try:
        mdn_pkg = json.loads((mdn_dir() / "package.json").read_text())
        raw["versions"]["mdn_http_observatory"] = mdn_pkg.get("version")
    except OSError:
        pass
    try:
        if "1" in parts:
            raw["part1"] = part1(binary, work)
        if "2" in parts:
            raw["part2"] = part2(binary, work)
        if "3" in parts:
            raw["part3"] = part3(binary, work)
    finally:
        cleanup()
        raw["load_after"] = loadavg()
        raw["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        out_path.write_text(json.dumps(raw, indent=2))
        log(f"raw measurements: {out_path}")


if __name__ == "__main__":
    main()
