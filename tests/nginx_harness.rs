//! A real Debian nginx for tests, and the certificates it serves, made with Debian's openssl.
//!
//! [`Nginx::start`] writes a configuration into a temporary prefix of its own (config, error and
//! access logs, pid and temp paths all inside it), starts `/usr/sbin/nginx -p DIR -c DIR/nginx.conf
//! -g 'daemon off;'` as a child process listening on free loopback ports, waits until every port
//! answers, and stops it (SIGTERM, then SIGKILL) when dropped. The access log records the
//! protocol and the `Authorization` header each request carried (`auth="…"`, `-` when none), so
//! a test can prove what reached the server.
//!
//! Certificates ([`Pki`]): a CA and a leaf it signs for `127.0.0.1`/`localhost`, a self-signed
//! certificate from `openssl req -x509` (OpenSSL's default makes it `CA:TRUE`), and an expired
//! self-signed one from `openssl ca -selfsign` with explicit past dates (`req -x509` refuses them).
//!
//! nginx missing: under `CI=true` a panic (`.ci/run` installs it), elsewhere a printed skip.

#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's nginx.
pub const NGINX: &str = "/usr/sbin/nginx";

/// True when nginx and openssl can be run; under CI their absence is a failure.
pub fn available() -> bool {
    let missing: Vec<&str> = [NGINX, "/usr/bin/openssl"]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if crate::util::in_ci() {
        panic!(
            "{} missing; CI=true requires them (.ci/run installs nginx and openssl)",
            missing.join(", ")
        );
    }
    eprintln!(
        "skipping: {} missing (under CI=true this fails)",
        missing.join(", ")
    );
    false
}

/// Runs `openssl ARGS` (split on spaces) in `dir`, panicking with its stderr when it fails.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The certificate chain (leaf first).
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// Certificates for loopback servers, generated with openssl in a directory of their own.
#[derive(Debug)]
pub struct Pki {
    dir: tempfile::TempDir,
}

const SAN: &str = "subjectAltName=DNS:localhost,IP:127.0.0.1";

impl Pki {
    /// An empty directory for certificates.
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        open_up(dir.path());
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A private CA (`ca.pem`, to pass as `--ca-file`) and a leaf it signs for 127.0.0.1 and
    /// localhost, valid for a year.
    pub fn ca_signed(&self) -> (PathBuf, CertFiles) {
        let dir = self.dir.path();
        openssl(
            dir,
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 365 -subj /CN=readyprobe-test-CA",
        );
        openssl(
            dir,
            "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost",
        );
        std::fs::write(
            self.path("leaf.ext"),
            format!("{SAN}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
        )
        .expect("write ext");
        openssl(
            dir,
            "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 365 -extfile leaf.ext",
        );
        let chain = format!(
            "{}{}",
            std::fs::read_to_string(self.path("leaf.pem")).expect("leaf"),
            std::fs::read_to_string(self.path("ca.pem")).expect("ca")
        );
        std::fs::write(self.path("chain.pem"), chain).expect("chain");
        (
            self.path("ca.pem"),
            CertFiles {
                cert: self.path("chain.pem"),
                key: self.path("leaf.key"),
            },
        )
    }

    /// A self-signed certificate for 127.0.0.1 and localhost straight from `openssl req -x509`
    /// (basicConstraints CA:TRUE, as OpenSSL makes it by default).
    pub fn self_signed(&self) -> CertFiles {
        openssl(
            self.dir.path(),
            &format!(
                "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key -out self.pem -days 365 -subj /CN=localhost -addext {SAN}"
            ),
        );
        CertFiles {
            cert: self.path("self.pem"),
            key: self.path("self.key"),
        }
    }

    /// A self-signed certificate for 127.0.0.1 and localhost that expired in 2020.
    pub fn expired(&self) -> CertFiles {
        let dir = self.dir.path();
        std::fs::write(self.path("index.txt"), "").expect("index");
        std::fs::write(self.path("serial"), "01\n").expect("serial");
        std::fs::write(
            self.path("ca.cnf"),
            "[ca]\ndefault_ca = self\n[self]\ndatabase = index.txt\nnew_certs_dir = .\n\
             serial = serial\ndefault_md = sha256\npolicy = any\ncopy_extensions = copy\n\
             unique_subject = no\n[any]\ncommonName = supplied\n",
        )
        .expect("ca.cnf");
        openssl(
            dir,
            &format!(
                "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key -out expired.csr -subj /CN=localhost -addext {SAN}"
            ),
        );
        openssl(
            dir,
            "ca -batch -notext -config ca.cnf -selfsign -keyfile expired.key -in expired.csr -out expired.pem -startdate 20200101000000Z -enddate 20200201000000Z",
        );
        CertFiles {
            cert: self.path("expired.pem"),
            key: self.path("expired.key"),
        }
    }
}

/// Lets nginx's unprivileged workers read what the test wrote (tempdirs are 0700).
fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
}

/// One `server` block.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Serve TLS with this certificate.
    pub tls: Option<CertFiles>,
    /// `listen … http2` (with TLS: negotiated by ALPN).
    pub http2: bool,
    /// Extra directives inside the `server` block (locations, headers).
    pub directives: String,
}

impl Site {
    /// Plain HTTP/1.1.
    pub fn http() -> Site {
        Site::default()
    }

    /// HTTPS with HTTP/2 offered by ALPN.
    pub fn https_h2(tls: CertFiles) -> Site {
        Site {
            tls: Some(tls),
            http2: true,
            directives: String::new(),
        }
    }
}

/// A running nginx (see the module doc).
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    /// One loopback port per site, in order.
    pub ports: Vec<u16>,
    https: Vec<bool>,
}

/// A free loopback port (nothing listens on it once this returns).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

impl Nginx {
    /// Starts nginx with `worker_connections` per worker (one worker) and one server per site;
    /// the pages under `/` are a small HTML document (`index.html`).
    pub fn start(worker_connections: u32, sites: &[Site]) -> Nginx {
        let dir = tempfile::tempdir().expect("tempdir");
        open_up(dir.path());
        let root = dir.path();
        std::fs::create_dir_all(root.join("www")).expect("www");
        std::fs::create_dir_all(root.join("tmp")).expect("tmp");
        open_up(&root.join("www"));
        std::fs::write(
            root.join("www/index.html"),
            "<!doctype html><html><head><title>nginx test</title></head><body>ok</body></html>\n",
        )
        .expect("index");
        let ports: Vec<u16> = sites.iter().map(|_| free_port()).collect();
        let mut servers = String::new();
        for (site, port) in sites.iter().zip(&ports) {
            let mut listen = format!("127.0.0.1:{port}");
            if site.tls.is_some() {
                listen.push_str(" ssl");
            }
            if site.http2 {
                listen.push_str(" http2");
            }
            servers.push_str(&format!("    server {{\n        listen {listen};\n"));
            if let Some(tls) = &site.tls {
                servers.push_str(&format!(
                    "        ssl_certificate {};\n        ssl_certificate_key {};\n",
                    tls.cert.display(),
                    tls.key.display()
                ));
            }
            servers.push_str(&format!(
                "        root {};\n{}\n    }}\n",
                root.join("www").display(),
                site.directives
            ));
        }
        let d = root.display();
        let conf = format!(
            "worker_processes 1;\nerror_log {d}/error.log info;\npid {d}/nginx.pid;\n\
             events {{ worker_connections {worker_connections}; }}\n\
             http {{\n\
             \x20   default_type text/html;\n\
             \x20   log_format probe '$remote_addr \"$request\" $status $server_protocol auth=\"$http_authorization\"';\n\
             \x20   access_log {d}/access.log probe;\n\
             \x20   client_body_temp_path {d}/tmp/body;\n\
             \x20   proxy_temp_path {d}/tmp/proxy;\n\
             \x20   fastcgi_temp_path {d}/tmp/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/tmp/uwsgi;\n\
             \x20   scgi_temp_path {d}/tmp/scgi;\n\
             {servers}}}\n"
        );
        let conf_path = root.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx {
            child,
            dir,
            ports,
            https: sites.iter().map(|s| s.tls.is_some()).collect(),
        };
        nginx.wait_listening();
        nginx
    }

    fn wait_listening(&mut self) {
        let started = Instant::now();
        for port in self.ports.clone() {
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!(
                        "nginx exited ({status}) before listening on {port}: {}",
                        self.error_log()
                    );
                }
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "nginx did not listen on {port} within 15 s: {}",
                    self.error_log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// `http(s)://127.0.0.1:PORT/` of site `i`.
    pub fn url(&self, i: usize) -> String {
        let scheme = if self.https[i] { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/", self.ports[i])
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The access log so far (see the module doc for its format).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// The prefix directory (for files a test adds under the web root: `www/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM is nginx's fast shutdown: the master stops its workers and exits.
        // SAFETY: signalling our own child process by its pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
