#!/usr/bin/env python3
"""Runs the readyprobe benchmarks and writes raw measurements as JSON (see bench/run.sh).

Every process is started in its own session and measured with wait4(2): wall time (monotonic
clock around fork→reap), user+sys CPU and peak RSS (ru_maxrss, which on Linux covers the process
and every descendant it reaped — testssl.sh's openssl children included). Long-lived servers
(the demo targets, nginx, blackbox_exporter) are read from /proc instead. Only loopback targets are
used; every wait is bounded; every process started here is killed on exit, also on SIGINT/SIGTERM.

Usage: bench.py --bin target/release/readyprobe --out bench/out/raw.json [--parts 1,2,3,4]
       bench.py --bin … --profile-fleet 1000 [--scheme https] [--perf-out bench/out/perf.data]
Environment knobs (all optional): BENCH_RUNS (10+ runs per figure, default 15), BENCH_WARMUP (2),
BENCH_FLEET_RUNS (3), BENCH_FLEET_SIZES ("1000"), BENCH_FLEET_SCHEMES ("http,https"),
BENCH_FLEET_CONCURRENCY (100), BENCH_STREAM_SIZE (10000), BENCH_STREAM_MARKS ("1000,5000,10000"),
BENCH_PEER_RUNS (10), BENCH_TESTSSL_RUNS (1), BENCH_PEER_PROFILE (hardened), BENCH_TOOLS
(bench/.tools), PERF_FREQ (499), PERF_CALLGRAPH ("dwarf,16384").
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
FLEET_SIZES = [int(x) for x in os.environ.get("BENCH_FLEET_SIZES", "1000").split(",")]
FLEET_SCHEMES = [x.strip() for x in os.environ.get("BENCH_FLEET_SCHEMES", "http,https").split(",")]
STREAM_SIZE = int(os.environ.get("BENCH_STREAM_SIZE", "10000"))
STREAM_MARKS = [int(x) for x in os.environ.get("BENCH_STREAM_MARKS", "1000,5000,10000").split(",")]
FLEET_CONCURRENCY = int(os.environ.get("BENCH_FLEET_CONCURRENCY", "100"))
PEER_RUNS = max(3, int(os.environ.get("BENCH_PEER_RUNS", "10")))
TESTSSL_RUNS = max(1, int(os.environ.get("BENCH_TESTSSL_RUNS", "1")))
PEER_PROFILE = os.environ.get("BENCH_PEER_PROFILE", "hardened")

BACKGROUND = []  # Popen objects of servers started here, killed at exit
BACKGROUND_MEASURED = []  # pids of the commands `measure` is running right now


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


GNU_TIME = "/usr/bin/time"


def measure(cmd, timeout, stdout_path=None, env=None):
    """Runs cmd to completion (killed after `timeout` s); returns wall/cpu/rss, exit, stdout.

    Peak RSS comes from GNU time's %M for the command it runs: Linux charges a process that
    this (large) Python process forks with Python's own peak RSS when it execs (exec_mmap keeps
    the old mm's high-water mark), so wait4's ru_maxrss would never show less than this
    process's size. GNU time is small; the command it starts is measured as itself."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    rss_file = None
    if Path(GNU_TIME).exists():
        rss_file = Path(f"/tmp/bench-rss-{os.getpid()}-{threading.get_ident()}")
        cmd = [GNU_TIME, "-f", "%M", "-o", str(rss_file), "--", *cmd]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env)
    BACKGROUND_MEASURED.append(p.pid)
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
    BACKGROUND_MEASURED.remove(p.pid)
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join(timeout=10)
    if stdout_path:
        out.close()
        stdout = Path(stdout_path).read_bytes()
    else:
        stdout = b"".join(chunks["out"])
    rss_mb = ru.ru_maxrss / 1024.0
    if rss_file is not None:
        try:
            rss_mb = int(rss_file.read_text().split()[-1]) / 1024.0
        except (OSError, ValueError, IndexError):
            pass
        rss_file.unlink(missing_ok=True)
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "rss_mb": rss_mb,
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
# part 2: fleet against Debian nginx

NGINX = "/usr/sbin/nginx"


def openssl(cwd, args):
    r = subprocess.run(["openssl", *args.split()], cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args}: {r.stderr[-400:]}")


class Nginx:
    """Debian nginx in a prefix of its own under the work directory: one plain-HTTP and one
    HTTPS + HTTP/2 server on loopback (a CA and a leaf made with openssl), every path
    `/tNNNN/…` served as `/…` so each fleet member is a target of its own behind one address."""

    def __init__(self, work, name="p2-nginx"):
        self.dir = (work / name).resolve()
        shutil.rmtree(self.dir, ignore_errors=True)
        for sub in ("www", "tmp", "logs"):
            (self.dir / sub).mkdir(parents=True)
        (self.dir / "www" / "index.html").write_text(
            "<!doctype html><html><head><title>fleet</title></head><body>ok</body></html>\n")
        d = self.dir
        openssl(d, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
                   "-out ca.pem -days 365 -subj /CN=bench-CA")
        openssl(d, "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
                   "-out leaf.csr -subj /CN=localhost")
        (d / "leaf.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                    "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        openssl(d, "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem "
                   "-days 365 -extfile leaf.ext")
        (d / "chain.pem").write_text((d / "leaf.pem").read_text() + (d / "ca.pem").read_text())
        self.ca = d / "ca.pem"
        self.http_port, self.https_port = free_port(), free_port()
        site = (f"        root {d}/www;\n"
                "        location ~ ^/t[0-9]+(/|$) { rewrite ^/t[0-9]+/?(.*)$ /$1 last; }\n")
        conf = (
            f"worker_processes 1;\nerror_log {d}/logs/error.log info;\npid {d}/nginx.pid;\n"
            "events { worker_connections 1024; }\n"
            "http {\n    default_type text/html;\n    access_log off;\n"
            f"    client_body_temp_path {d}/tmp/body;\n    proxy_temp_path {d}/tmp/proxy;\n"
            f"    fastcgi_temp_path {d}/tmp/fastcgi;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n"
            f"    scgi_temp_path {d}/tmp/scgi;\n"
            f"    server {{\n        listen 127.0.0.1:{self.http_port};\n{site}    }}\n"
            f"    server {{\n        listen 127.0.0.1:{self.https_port} ssl http2;\n"
            f"        ssl_certificate {d}/chain.pem;\n        ssl_certificate_key {d}/leaf.key;\n"
            f"{site}    }}\n}}\n")
        (d / "nginx.conf").write_text(conf)
        self.proc = start_background([NGINX, "-p", str(d), "-c", str(d / "nginx.conf"),
                                      "-g", "daemon off;"], d / "stdout", d / "stderr")

        def listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(d / 'logs/error.log').read_text()[-500:]}")
            for port in (self.http_port, self.https_port):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    return False
            return True
        wait_for(listening, 30, "nginx")

    def urls(self, n, scheme="mixed"):
        """n targets: all plain HTTP (`http`), all HTTPS with HTTP/2 (`https`), or alternating
        (`mixed`)."""
        def one(i):
            tls = scheme == "https" or (scheme == "mixed" and i % 2 == 1)
            if tls:
                return f"https://127.0.0.1:{self.https_port}/t{i:04d}/"
            return f"http://127.0.0.1:{self.http_port}/t{i:04d}/"
        return [one(i) for i in range(n)]

    def cpu_s(self):
        """CPU of the master and its workers."""
        total = proc_cpu_s(self.proc.pid)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def not_enough(self):
        """Lines where nginx ran short of worker connections."""
        log = (self.dir / "logs" / "error.log").read_text(errors="replace")
        return sum(1 for line in log.splitlines() if "not enough" in line)

    def stop(self):
        stop_background(self.proc)


def fleet_cmd(binary, targets, ca, extra=()):
    return [str(binary), "audit", "--targets", str(targets), "--ca-file", str(ca),
            "--profile", "production", "--fleet-concurrency", str(FLEET_CONCURRENCY),
            "--no-color", *extra]


def summary_rows(table):
    """The fleet summary table (stdout) as dicts keyed by its header: line, target, verdict,
    score, fail, error, requests, exit, notes."""
    rows = [[c.strip() for c in l.strip("│ ").split("┆")] for l in table.splitlines()]
    header = next((r for r in rows if r and r[0] == "line"), None)
    if header is None:
        return []
    return [dict(zip(header, r)) for r in rows if len(r) == len(header) and r[0].isdigit()]


def fleet_figures(m, n, table):
    rows = summary_rows(table)
    m["audited"] = sum(1 for r in rows if r.get("verdict") not in (None, "", "—"))
    m["error_findings"] = sum(int(r["error"]) for r in rows if r.get("error", "").isdigit())
    reqs = [int(r["requests"]) for r in rows if r.get("requests", "").isdigit()]
    m["requests"] = sum(reqs) if reqs else None
    m["cpu_per_request_ms"] = m["cpu_s"] * 1000 / m["requests"] if m["requests"] else None
    m["unreachable"] = m["stderr"].count("could not be reached")
    m["ok"] = (m["exit"] in (0, 1)) and not m["timed_out"] and m["audited"] == n
    if not m["ok"]:
        log(f"fleet run failed: exit {m['exit']}, audited {m['audited']}/{n}, "
            f"stderr tail: {m['stderr'][-400:]}")
    m["audits_per_s"] = n / m["wall_s"] if m["wall_s"] else None


def part2(binary, work):
    out = {"concurrency": FLEET_CONCURRENCY, "sizes": {}, "mode": "audit --targets",
           "server": "nginx", "schemes": {}}
    log("part 2: starting Debian nginx (HTTP and HTTPS with HTTP/2)")
    nginx = Nginx(work)
    out["nginx_version"] = tool_version([NGINX, "-v"])
    try:
        for scheme in FLEET_SCHEMES:
            sizes = out["schemes"].setdefault(scheme, {})
            for n in FLEET_SIZES:
                targets = work / f"targets-{scheme}-{n}.txt"
                targets.write_text("\n".join(nginx.urls(n, scheme)) + "\n")
                samples = []
                for i in range(FLEET_RUNS):
                    log(f"part 2: fleet of {n} × {scheme} at concurrency {FLEET_CONCURRENCY}, "
                        f"run {i + 1}/{FLEET_RUNS}")
                    cpu_before = nginx.cpu_s()
                    short_before = nginx.not_enough()
                    m = measure(fleet_cmd(binary, targets, nginx.ca), timeout=900)
                    m["server_cpu_s"] = nginx.cpu_s() - cpu_before
                    m["not_enough"] = nginx.not_enough() - short_before
                    fleet_figures(m, n, m.pop("stdout"))
                    m["load"] = loadavg()
                    log(f"  wall {m['wall_s']:.2f} s, cpu {m['cpu_s']:.2f} s, rss {m['rss_mb']:.0f} MB, "
                        f"requests {m['requests']}, errors {m['error_findings']}, load {m['load']}")
                    samples.append(m)
                s = summarize(samples, ("audits_per_s", "server_cpu_s", "requests",
                                        "cpu_per_request_ms"))
                s["audited"] = samples[-1]["audited"]
                s["unreachable"] = samples[-1]["unreachable"]
                s["error_findings"] = sum(x["error_findings"] for x in samples)
                s["not_enough"] = sum(x["not_enough"] for x in samples)
                s["load_after"] = loadavg()
                s["loads"] = [x["load"] for x in samples]
                sizes[str(n)] = s
        out["server_rss_mb_peak"] = proc_hwm_mb(nginx.proc.pid)
    finally:
        nginx.stop()
    return out


# ---------------------------------------------------------------------------------------------
# part 4: a 10,000-target plain-HTTP fleet, streamed to disk: RSS by count of finished audits

def proc_rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def child_pid(pid):
    """The process GNU time started (the prober), else `pid` itself."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def part4(binary, work):
    """`audit --targets` over STREAM_SIZE plain-HTTP targets with `--out-dir`: the prober's VmRSS
    is sampled every 50 ms next to the number of reports already on disk (`*.json` in the out
    dir), so RSS can be read at 1k, 5k and 10k finished audits."""
    n = STREAM_SIZE
    out = {"targets": n, "concurrency": FLEET_CONCURRENCY, "marks": {}, "curve": []}
    log(f"part 4: starting Debian nginx; fleet of {n} plain-HTTP targets with --out-dir")
    nginx = Nginx(work, name="p4-nginx")
    reports = work / "p4-reports"
    shutil.rmtree(reports, ignore_errors=True)
    try:
        targets = work / f"targets-stream-{n}.txt"
        targets.write_text("\n".join(nginx.urls(n, "http")) + "\n")
        cmd = fleet_cmd(binary, targets, nginx.ca, ["--out-dir", str(reports)])
        samples = []
        stop = threading.Event()

        def sampler():
            prober = None
            while not stop.is_set():
                if prober is None:
                    for p in list(BACKGROUND_MEASURED):
                        prober = child_pid(p) if Path(GNU_TIME).exists() else p
                if prober is not None:
                    rss = proc_rss_mb(prober)
                    if rss is not None:
                        try:
                            done = sum(1 for e in os.scandir(reports) if e.name.endswith(".json"))
                        except OSError:
                            done = 0
                        samples.append((done, rss))
                stop.wait(0.05)

        t = threading.Thread(target=sampler, daemon=True)
        t.start()
        m = measure(cmd, timeout=1800)
        stop.set()
        t.join(timeout=5)
        fleet_figures(m, n, m.pop("stdout"))
        out.update({k: m.get(k) for k in ("wall_s", "cpu_s", "rss_mb", "audited", "requests",
                                          "error_findings", "ok", "exit", "cpu_per_request_ms")})
        out["reports_written"] = sum(1 for e in os.scandir(reports) if e.name.endswith(".json"))
        for mark in STREAM_MARKS:
            # The highest RSS seen while fewer than `mark` audits were on disk.
            seen = [rss for done, rss in samples if done <= mark]
            out["marks"][str(mark)] = max(seen) if seen else None
        step = max(1, n // 20)
        for k in range(step, n + 1, step):
            seen = [rss for done, rss in samples if k - step < done <= k]
            if seen:
                out["curve"].append((k, max(seen)))
        out["samples"] = len(samples)
        out["load_after"] = loadavg()
    finally:
        nginx.stop()
        shutil.rmtree(reports, ignore_errors=True)
    return out


# ---------------------------------------------------------------------------------------------
# profile: the fleet under `perf record`

def profile_fleet(binary, work, n, scheme, perf_out):
    log(f"profile: starting Debian nginx; fleet of {n} × {scheme} under perf record")
    nginx = Nginx(work, name="prof-nginx")
    try:
        targets = work / f"targets-prof-{scheme}-{n}.txt"
        targets.write_text("\n".join(nginx.urls(n, scheme)) + "\n")
        cmd = fleet_cmd(binary, targets, nginx.ca)
        perf = shutil.which("perf")
        if perf and subprocess.run([perf, "record", "-o", "/dev/null", "-q", "true"],
                                   capture_output=True).returncode == 0:
            cmd = [perf, "record", "-F", os.environ.get("PERF_FREQ", "499"), "--call-graph",
                   os.environ.get("PERF_CALLGRAPH", "dwarf,16384"), "-o", str(perf_out), "--", *cmd]
            tool = "perf"
        else:
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={perf_out}", *cmd]
            tool = "callgrind"
        m = measure(cmd, timeout=1800)
        fleet_figures(m, n, m.pop("stdout"))
        log(f"profile ({tool}): wall {m['wall_s']:.2f} s, cpu {m['cpu_s']:.2f} s (incl. {tool}), "
            f"requests {m['requests']}, audited {m['audited']}/{n}, error findings {m['error_findings']}")
        print(json.dumps({"tool": tool, "data": str(perf_out)}))
    finally:
        nginx.stop()


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
    ap.add_argument("--profile-fleet", type=int, default=0,
                    help="run one fleet of N targets under perf record (or callgrind) and exit")
    ap.add_argument("--scheme", default="https", choices=["http", "https", "mixed"])
    ap.add_argument("--perf-out", default=None)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    raise_nofile()
    binary = Path(args.bin).resolve()
    out_path = Path(args.out)
    work = out_path.parent / "work"
    work.mkdir(parents=True, exist_ok=True)
    parts = {p.strip() for p in args.parts.split(",")}
    if args.profile_fleet:
        try:
            perf_out = Path(args.perf_out or out_path.parent / "perf.data").resolve()
            profile_fleet(binary, work, args.profile_fleet, args.scheme, perf_out)
        finally:
            cleanup()
        return
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
                   "fleet_sizes": FLEET_SIZES, "fleet_schemes": FLEET_SCHEMES,
                   "fleet_concurrency": FLEET_CONCURRENCY, "stream_size": STREAM_SIZE,
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
        if "4" in parts:
            raw["part4"] = part4(binary, work)
    finally:
        cleanup()
        raw["load_after"] = loadavg()
        raw["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        out_path.write_text(json.dumps(raw, indent=2))
        log(f"raw measurements: {out_path}")


if __name__ == "__main__":
    main()
