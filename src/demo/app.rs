//! What the two demo applications share: state (the orders and the dependency address), the
//! dashboard page, request inspection helpers and randomness.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::DemoProfile;
use super::dependency::Dependency;

/// Requests whose headers (names + values + separators) exceed this are rejected.
pub(crate) const MAX_HEADER_BYTES: usize = 8 * 1024;

/// How many orders created through `POST /api/orders` are kept (oldest dropped first).
const MAX_CREATED_ORDERS: usize = 100;

/// The seed orders: (id, customer, items, total in cents, status, created at).
const SEED_ORDERS: [(&str, &str, &str, u64, &str, &str); 8] = [
    (
        "ord_1001",
        "Ada Lovelace",
        "2 x Brass gear set",
        4_998,
        "paid",
        "2025-06-01T08:12:44Z",
    ),
    (
        "ord_1002",
        "Grace Hopper",
        "1 x Compiler handbook",
        3_450,
        "shipped",
        "2025-06-01T09:03:10Z",
    ),
    (
        "ord_1003",
        "Alan Turing",
        "3 x Rotor wheel",
        8_997,
        "paid",
        "2025-06-01T10:47:31Z",
    ),
    (
        "ord_1004",
        "Katherine Johnson",
        "1 x Slide rule",
        1_999,
        "pending",
        "2025-06-01T11:20:05Z",
    ),
    (
        "ord_1005",
        "Edsger Dijkstra",
        "4 x Semaphore flag",
        5_196,
        "refunded",
        "2025-06-01T12:02:58Z",
    ),
    (
        "ord_1006",
        "Barbara Liskov",
        "1 x Abstraction kit",
        12_900,
        "shipped",
        "2025-06-01T13:35:17Z",
    ),
    (
        "ord_1007",
        "Donald Knuth",
        "2 x Typesetting block",
        2_580,
        "paid",
        "2025-06-01T14:09:42Z",
    ),
    (
        "ord_1008",
        "Margaret Hamilton",
        "1 x Guidance module",
        24_999,
        "pending",
        "2025-06-01T15:51:26Z",
    ),
];

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("dependency", &self.inner.dependency.to_string())
            .field("draining", &self.is_draining())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// One request in flight; dropping it (response sent, or the connection gone) ends it.
pub(crate) struct InFlight(AppState);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How long the export endpoint takes: a slow report, the kind of request a shutdown must not
/// cut off.
pub(crate) const EXPORT_DELAY: std::time::Duration = std::time::Duration::from_millis(1500);

/// `GET /api/export`: the orders as a report, after [`EXPORT_DELAY`] of "work".
pub(crate) async fn export(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    tokio::time::sleep(EXPORT_DELAY).await;
    let body = json!({ "report": "orders", "orders": state.orders() }).to_string();
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// State shared by every request of one demo instance.
#[derive(Clone)]
pub(crate) struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dependency: Dependency,
    created: Mutex<VecDeque<Value>>,
    next_id: AtomicU64,
    rng: &'static dyn rustls::crypto::SecureRandom,
    /// One access-log line per request on stdout (`readyprobe demo --access-log`).
    access_log: bool,
    /// Set on SIGTERM (hardened): readiness answers 503 while in-flight requests finish.
    draining: AtomicBool,
    /// Requests being served right now.
    in_flight: AtomicUsize,
    /// How long each health endpoint works before it answers (`readyprobe demo --health-delay`).
    health_delay: std::time::Duration,
}

impl AppState {
    /// State for an application whose database is at `dependency`.
    #[cfg(test)]
    pub(crate) fn new(dependency: std::net::SocketAddr) -> AppState {
        AppState::with(Dependency::Tcp(dependency), false)
    }

    /// State for an application with this dependency, logging requests when `access_log`.
    pub(crate) fn with(dependency: Dependency, access_log: bool) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                dependency,
                created: Mutex::new(VecDeque::new()),
                next_id: AtomicU64::new(2001),
                rng: rustls::crypto::ring::default_provider().secure_random,
                access_log,
                draining: AtomicBool::new(false),
                in_flight: AtomicUsize::new(0),
                health_delay: std::time::Duration::ZERO,
            }),
        }
    }

    /// The same state with health endpoints that take `delay` to answer.
    pub(crate) fn with_health_delay(self, delay: std::time::Duration) -> AppState {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.health_delay = delay;
                AppState {
                    inner: Arc::new(inner),
                }
            }
            // Shared already: keep it as it is (only called right after `with`).
            Err(inner) => AppState { inner },
        }
    }

    /// Works for the configured health delay, as a health check doing slow work would.
    pub(crate) async fn health_work(&self) {
        if !self.inner.health_delay.is_zero() {
            tokio::time::sleep(self.inner.health_delay).await;
        }
    }

    /// What the application depends on (its database).
    pub(crate) fn dependency(&self) -> &Dependency {
        &self.inner.dependency
    }

    /// True when requests are logged.
    pub(crate) fn access_log(&self) -> bool {
        self.inner.access_log
    }

    /// Starts draining: readiness fails from now on.
    pub(crate) fn begin_drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// True once draining started.
    pub(crate) fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Requests being served right now.
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// Counts one request as in flight until the guard is dropped.
    pub(crate) fn track(&self) -> InFlight {
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// The seed orders followed by the ones created since start.
    pub(crate) fn orders(&self) -> Vec<Value> {
        let mut orders = seed_orders();
        let created = self
            .inner
            .created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        orders.extend(created.iter().cloned());
        orders
    }

    /// Stores a new order built from the client's fields and returns it with its id.
    pub(crate) fn create_order(&self, fields: serde_json::Map<String, Value>) -> Value {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut order = fields;
        order.insert("id".to_owned(), Value::String(format!("ord_{id}")));
        order
            .entry("status".to_owned())
            .or_insert_with(|| Value::String("pending".to_owned()));
        let order = Value::Object(order);
        let mut created = self
            .inner
            .created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if created.len() >= MAX_CREATED_ORDERS {
            created.pop_front();
        }
        created.push_back(order.clone());
        order
    }

    /// `bytes` random bytes from the system CSPRNG, hex-encoded.
    pub(crate) fn random_hex(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        if self.inner.rng.fill(&mut buf).is_err() {
            // The OS generator failing is practically impossible; fall back to std's
            // randomly-keyed hasher rather than failing the request.
            fallback_random(&mut buf, self.inner.next_id.load(Ordering::Relaxed));
        }
        hex(&buf)
    }
}

fn fallback_random(buf: &mut [u8], salt: u64) {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let mut hasher = state.build_hasher();
        hasher.write_u64(salt);
        hasher.write_usize(i);
        let word = hasher.finish().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The seed orders as JSON values.
pub(crate) fn seed_orders() -> Vec<Value> {
    SEED_ORDERS
        .iter()
        .map(|(id, customer, items, total, status, created)| {
            json!({
                "id": id,
                "customer": customer,
                "items": items,
                "total_cents": total,
                "currency": "EUR",
                "status": status,
                "created_at": created,
            })
        })
        .collect()
}

/// Size of the request head's header section as it would be on the wire in HTTP/1.1.
pub(crate) fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// The first `'` or `<` in the query string, raw or percent-decoded (what the flawed app chokes on).
pub(crate) fn sql_breaking_char(query: &str) -> Option<char> {
    let decoded: String = url::form_urlencoded::parse(query.as_bytes())
        .flat_map(|(k, v)| [k.into_owned(), v.into_owned()])
        .collect();
    query
        .chars()
        .chain(decoded.chars())
        .find(|c| matches!(c, '\'' | '<'))
}

/// Whether every decoded key and value of the query string uses only an allow-listed set of
/// characters (what the hardened app accepts; everything else is a 400).
pub(crate) fn query_is_clean(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).all(|(k, v)| {
        k.chars()
            .chain(v.chars())
            .all(|c| c.is_ascii_alphanumeric() || " -._~,:/@".contains(c))
    })
}

/// FNV-1a 64-bit hash (stable across runs and builds; used for ETags, not for security).
pub(crate) fn fnv1a64(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The stylesheet served at `/static/app.css`.
pub(crate) const APP_CSS: &str = "\
body { font-family: system-ui, sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 1rem 2rem; }
header nav a { color: #d9e2ec; margin-right: 1rem; text-decoration: none; }
main { padding: 1.5rem 2rem; }
.cards { display: flex; gap: 1rem; margin-bottom: 1.5rem; }
.card { background: #fff; border-radius: 6px; padding: 1rem 1.5rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.card strong { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .5rem .75rem; border-bottom: 1px solid #e4e7eb; }
th { background: #f0f4f8; }
.status-paid { color: #047857; } .status-shipped { color: #1d4ed8; }
.status-pending { color: #b45309; } .status-refunded { color: #6b7280; }
footer { padding: 1rem 2rem; color: #627d98; font-size: .85rem; }
";

/// The "Orders dashboard" page (> 2 KiB). The flawed page inlines its style and script (which a
/// strict CSP would block); the hardened one links the stylesheet and has no script.
pub(crate) fn dashboard_html(profile: DemoProfile) -> String {
    let mut rows = String::new();
    let mut revenue = 0u64;
    for (id, customer, items, total, status, created) in SEED_ORDERS {
        revenue += total;
        rows.push_str(&format!(
            "        <tr><td>{id}</td><td>{customer}</td><td>{items}</td>\
             <td>&euro; {}.{:02}</td><td class=\"status-{status}\">{status}</td><td>{created}</td></tr>\n",
            total / 100,
            total % 100
        ));
    }
    let head_assets = match profile {
        DemoProfile::Flawed => format!("  <style>\n{APP_CSS}  </style>\n"),
        DemoProfile::Hardened => {
            "  <link rel=\"stylesheet\" href=\"/static/app.css\">\n".to_owned()
        }
    };
    let script = match profile {
        DemoProfile::Flawed => "  <script>\n    // refresh the table every 30 s\n    \
             setInterval(function () { fetch('/api/orders').then(function (r) { return r.json(); })\
             .then(function (o) { document.getElementById('count').textContent = o.length; }); }, 30000);\n  \
             </script>\n"
            .to_owned(),
        DemoProfile::Hardened => String::new(),
    };
    format!(
        "<!DOCTYPE html>
<html lang=\"en\">
<head>
  <meta charset=\"utf-8\">
  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
  <title>Orders dashboard - Acme Parts</title>
{head_assets}</head>
<body>
  <header>
    <h1>Acme Parts &middot; Orders dashboard</h1>
    <nav><a href=\"/\">Orders</a><a href=\"/api/orders\">API</a></nav>
  </header>
  <main>
    <section class=\"cards\">
      <div class=\"card\"><span>Orders today</span><strong id=\"count\">{count}</strong></div>
      <div class=\"card\"><span>Revenue today</span><strong>&euro; {rev_whole}.{rev_cents:02}</strong></div>
      <div class=\"card\"><span>Open orders</span><strong>2</strong></div>
    </section>
    <h2>Latest orders</h2>
    <table>
      <thead>
        <tr><th>Order</th><th>Customer</th><th>Items</th><th>Total</th><th>Status</th><th>Created</th></tr>
      </thead>
      <tbody>
{rows}      </tbody>
    </table>
    <p>Orders are refreshed from the orders service. Refunds and cancellations are handled by the
    support team; contact them before changing an order by hand.</p>
  </main>
  <footer>Acme Parts internal tools &middot; orders service</footer>
{script}</body>
</html>
",
        count = SEED_ORDERS.len(),
        rev_whole = revenue / 100,
        rev_cents = revenue % 100,
    )
}

/// The flawed identity provider's one RSA-1024 public key (modulus, base64url): too weak, and
/// published without a `kid` and without a second key for rotation.
pub(crate) const FLAWED_RSA_1024_N: &str = "k84F48wncy9rUi5jxxldqD4mqGBWB7QT0AjFobJpFuYz7HMi5y5Z9dNQ3TnfBSOhC6Ubw1WFqQFBYMcpXXors3PAF-EfXdxJC6g3g84JTG7GhCFuKJpv6oHLIVpY7ZYuK_yWu_MU0vLwRm4p5Ycd9Q4VRuo3dKA5Z0vTNBG4F38";

/// The hardened identity provider's two RSA-2048 public keys: (kid, modulus base64url).
pub(crate) const HARDENED_RSA_2048: [(&str, &str); 2] = [
    (
        "orders-2025-06",
        "heev1hk42tdXwnH7y-fFRz50eeh2po48D2WNHcwJlFwNr08UeoqOK-Zf29eA1qV5z2jLCkYfqM4ngbzD-f4raQafY-Mwfw4eQI78RN5dMQYET3N8NcB9RwgthNIq_gZzr8N0PSbpf4F0x6drh1_01PTL9cWEQ_ogCOpY3M6XKik-9B2WCfqi0y-R4WYQ-a-ZZ_-QzcEbWIvoup5_sq158JdznuNX0-Ay1iEWcXdl62pbRaChrkFiTgBMUj4YZpnccmC31oH3MHrX2BTThSZPjA20FRUrzRDOQX-4-4UR_e2oC1pFyoI2ZkotEuoyVLFGworkFT3oCXGh9IkPmF9Y1w",
    ),
    (
        "orders-2025-12",
        "2ZZx8pPjwOoj1QV_pQClbk47R5WUrC7S5e-m_6AZbtVhQk94HfUzQjc8-gXbIEUuUE94Gv8EkPCKLJ7FPmPqjBNO6SVCZ19fcgD5hE-2mVPKRbnhbKJFDQMeUlSTY_P2GRu5oaLe7u5sCWQpvIw8HychSDOjFjFBU4mis0Jw7PtTq-G1ENH6V-GvLUJQZEVFDVY7f9amzwKuSOfdLr0dHn680gJ7pyw1nL3Z-QP25qqrs7uAuTY4oa4kR3ETPlejisxG9GonPJ2YA-SXtiauw6eZQ0gqPD0p3eVCTv-Zfq0uCg4mIP5SRT5hSfjwxuNuJw49mUNqHlgk-ZP3d85Wow",
    ),
];

/// The host (and port) a request was addressed to: `Host` in HTTP/1.1, the URI's authority
/// (`:authority`) in HTTP/2.
pub(crate) fn request_host(headers: &HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
}

/// The OIDC discovery document of the demo's own identity provider, at the request's host.
pub(crate) fn openid_configuration(headers: &HeaderMap, uri: &axum::http::Uri) -> Value {
    let host = request_host(headers, uri).unwrap_or_else(|| "localhost".to_owned());
    json!({
        "issuer": format!("https://{host}"),
        "jwks_uri": format!("https://{host}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

/// The bearer token of a request, split into its JSON header, the signing input and the
/// signature bytes; `None` when there is no well-formed compact JWT.
pub(crate) fn bearer_jwt(headers: &HeaderMap) -> Option<(Value, Value, String, Vec<u8>)> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    let mut parts = token.trim().split('.');
    let (head, body, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    Some((header, claims, format!("{head}.{body}"), sig))
}

/// The admin summary `/api/admin` serves to an authorised caller.
pub(crate) fn admin_summary() -> Value {
    json!({ "orders": SEED_ORDERS.len(), "refunds_pending": 1, "admins": ["ada", "grace"] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_breaking_characters_raw_and_encoded() {
        assert_eq!(sql_breaking_char("q=o'brien"), Some('\''));
        assert_eq!(sql_breaking_char("q=%27"), Some('\''));
        assert_eq!(sql_breaking_char("q=%3Cb%3E"), Some('<'));
        assert_eq!(sql_breaking_char("q=plain&limit=5"), None);
        assert_eq!(sql_breaking_char(""), None);
    }

    #[test]
    fn hardened_query_allow_list() {
        assert!(query_is_clean("limit=5&status=paid"));
        assert!(query_is_clean("from=2025-06-01T00:00:00Z&q=a+b"));
        assert!(query_is_clean(""));
        assert!(!query_is_clean("q=%27%20OR%201=1--"));
        assert!(!query_is_clean("q=<script>"));
        assert!(!query_is_clean("q=%ff"));
    }

    #[test]
    fn dashboard_pages_are_larger_than_2_kib() {
        for profile in [DemoProfile::Flawed, DemoProfile::Hardened] {
            let page = dashboard_html(profile);
            assert!(page.len() > 2048, "{profile}: {}", page.len());
            assert!(page.contains("Orders dashboard"));
        }
        assert!(dashboard_html(DemoProfile::Flawed).contains("<script>"));
        assert!(!dashboard_html(DemoProfile::Hardened).contains("<script"));
        assert!(!dashboard_html(DemoProfile::Hardened).contains("<style"));
    }

    #[test]
    fn orders_are_capped_and_random_ids_differ() {
        let state = AppState::new(std::net::SocketAddr::from(([127, 0, 0, 1], 9)));
        for _ in 0..(MAX_CREATED_ORDERS + 5) {
            state.create_order(serde_json::Map::new());
        }
        assert_eq!(state.orders().len(), SEED_ORDERS.len() + MAX_CREATED_ORDERS);
        let a = state.random_hex(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, state.random_hex(16));
    }
}
