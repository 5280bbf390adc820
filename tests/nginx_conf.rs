//! A real Debian nginx for tests: `/usr/sbin/nginx` started on loopback ports with a config the
//! test writes into a temporary directory, stopped (and its directory removed) when dropped.
//!
//! Self-contained on purpose (the lead may merge it with other nginx helpers): nothing here
//! depends on the rest of the test suite but `util::in_ci`. nginx runs in the foreground
//! (`-g 'daemon off;'`) with `master_process off`, so the test owns exactly one process and
//! killing it leaves no worker behind; the pid file, error log and temp paths all live in the
//! temporary directory (`-p prefix -c conf -e error.log`), so no root-owned path is touched.
//!
//! Without nginx a test fails under `CI=true` (`.ci/run` installs it) and skips with a printed
//! reason elsewhere, like the machine services in `util::require_service`.

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs nginx.
pub const NGINX: &str = "/usr/sbin/nginx";

/// How long nginx may take to listen on every port.
const START_WITHIN: Duration = Duration::from_secs(15);

/// A running nginx; dropped, it is killed and its directory removed.
pub struct Nginx {
    child: Child,
    ports: Vec<u16>,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx with one `server { … }` per entry of `servers`, after writing `files`
    /// (name relative to the temporary directory, contents) — certificates, say.
    ///
    /// In a server's text `{port0}`, `{port1}`, … stand for the loopback ports picked for each
    /// server and `{dir}` for the temporary directory. A server without a `listen` directive
    /// gets `listen 127.0.0.1:{portN};` for its own port. Returns `None` (after printing why)
    /// when nginx is not installed outside CI; under `CI=true` that panics.
    pub fn start(servers: &[&str], files: &[(&str, &[u8])]) -> Option<Nginx> {
        if !Path::new(NGINX).is_file() {
            if crate::util::in_ci() {
                panic!("{NGINX} is missing; CI=true requires it (.ci/run installs nginx)");
            }
            eprintln!("skipping: {NGINX} is not installed (under CI=true this fails)");
            return None;
        }
        // A port picked here can be taken by someone else before nginx binds it: retry.
        let mut last = String::new();
        for _ in 0..5 {
            match Nginx::try_start(servers, files) {
                Ok(nginx) => return Some(nginx),
                Err(why) => last = why,
            }
        }
        panic!("nginx did not start: {last}");
    }

    fn try_start(servers: &[&str], files: &[(&str, &[u8])]) -> Result<Nginx, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        for (name, contents) in files {
            std::fs::write(dir.path().join(name), contents).map_err(|e| format!("{name}: {e}"))?;
        }
        let ports: Vec<u16> = servers.iter().map(|_| free_port()).collect();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), servers, &ports))
            .map_err(|e| format!("nginx.conf: {e}"))?;
        let error_log = dir.path().join("error.log");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{NGINX}: {e}"))?;
        let mut nginx = Nginx { child, ports, dir };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                return Err(format!(
                    "exited with {status}: {}",
                    std::fs::read_to_string(&error_log).unwrap_or_default()
                ));
            }
            if nginx.ports.iter().all(|p| listening(*p)) {
                return Ok(nginx);
            }
            if started.elapsed() > START_WITHIN {
                return Err(format!(
                    "not listening on {:?} after {START_WITHIN:?}: {}",
                    nginx.ports,
                    std::fs::read_to_string(&error_log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The loopback port of server `i`.
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// A file in the temporary directory (config, logs, the files given).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// nginx's error log so far, for assertion messages.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.path("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // master_process off: this one process is all of nginx.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole nginx.conf: one process, everything under `dir`, the given servers.
fn config(dir: &Path, servers: &[&str], ports: &[u16]) -> String {
    let d = dir.display();
    let mut conf = format!(
        "master_process off;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         \x20   access_log {d}/access.log;\n\
         \x20   client_body_temp_path {d}/client_body;\n\
         \x20   proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/uwsgi;\n\
         \x20   scgi_temp_path {d}/scgi;\n\
         \x20   default_type text/plain;\n"
    );
    for (i, server) in servers.iter().enumerate() {
        let mut body = server.replace("{dir}", &d.to_string());
        for (j, port) in ports.iter().enumerate() {
            body = body.replace(&format!("{{port{j}}}"), &port.to_string());
        }
        let listen = if body.contains("listen ") {
            String::new()
        } else {
            format!("        listen 127.0.0.1:{};\n", ports[i])
        };
        let _ = write!(conf, "    server {{\n{listen}{body}\n    }}\n");
    }
    conf.push_str("}\n");
    conf
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// PEM text of DER blocks (`CERTIFICATE`, `PRIVATE KEY`), for nginx's `ssl_certificate*`.
pub fn pem(label: &str, ders: &[&[u8]]) -> String {
    use base64::Engine;
    let mut out = String::new();
    for der in ders {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let _ = writeln!(out, "-----BEGIN {label}-----");
        for line in b64.as_bytes().chunks(64) {
            let _ = writeln!(out, "{}", String::from_utf8_lossy(line));
        }
        let _ = writeln!(out, "-----END {label}-----");
    }
    out
}
