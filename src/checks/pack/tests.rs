//! Tests of `pack`.

use super::*;

fn fixture(name: &str) -> (String, String) {
    let path = format!("{}/tests/fixtures/packs/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (text, format!("tests/fixtures/packs/{name}"))
}

fn invalid(name: &str) -> String {
    let (text, origin) = fixture(name);
    parse(&text, &origin)
        .err()
        .unwrap_or_else(|| panic!("{name} loaded"))
        .to_string()
}

#[test]
fn builtin_packs_parse_with_their_ids() {
    let checks = builtin().expect("embedded packs are valid");
    let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "exposure.sensitive_paths",
            "docs.openapi",
            "ops.version_endpoint"
        ]
    );
    let exposure = &checks[0];
    assert_eq!(exposure.category, Category::Security);
    assert_eq!(exposure.severity, Severity::Critical);
    assert_eq!(exposure.source, "builtin:probes/exposure.toml");
    assert_eq!(exposure.requests.len(), 12);
    assert!(
        exposure
            .requests
            .iter()
            .all(|r| !r.follow_redirects && r.method == "GET")
    );
    let docs = &checks[1];
    assert_eq!(
        (
            docs.category,
            docs.severity,
            docs.on_failure,
            docs.pass_when
        ),
        (
            Category::Operational,
            Severity::Medium,
            Outcome::Warn,
            PassWhen::Any
        )
    );
    let ops = &checks[2];
    assert_eq!(
        (ops.category, ops.severity, ops.on_failure, ops.pass_when),
        (
            Category::Operational,
            Severity::Low,
            Outcome::Warn,
            PassWhen::Any
        )
    );
    for check in &checks {
        assert!(
            !check.rule.is_empty() && !check.remediation.is_empty(),
            "{}",
            check.id
        );
        assert!(!check.references.is_empty(), "{}", check.id);
        assert!(!check.mutating && !check.overrides, "{}", check.id);
    }
}

#[test]
fn builtin_ids_do_not_collide_with_rust_checks() {
    for check in builtin().expect("valid") {
        assert!(crate::checks::find(&check.id).is_none(), "{}", check.id);
    }
}

#[test]
fn valid_fixture_parses_with_defaults() {
    let (text, origin) = fixture("valid-basic.toml");
    let checks = parse(&text, &origin).expect("valid");
    assert_eq!(checks.len(), 1);
    let c = &checks[0];
    assert_eq!(c.id, "myapp.health");
    assert_eq!(c.category, Category::HealthChecks);
    assert_eq!(c.on_failure, Outcome::Fail);
    assert_eq!(c.pass_when, PassWhen::All);
    assert_eq!(c.source, "tests/fixtures/packs/valid-basic.toml");
    assert_eq!(c.line, 2);
    assert_eq!(
        c.rule,
        "GET /health: [STATUS] == 200 and [BODY].status == UP and [HEADER:content-type] contains json"
    );
    let r = &c.requests[0];
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.headers,
        vec![("accept".to_string(), "application/json".to_string())]
    );
    assert!(!r.follow_redirects);
    assert_eq!(r.all[1].outcome, Outcome::Fail);
    assert_eq!(r.all[2].outcome, Outcome::Warn, "per-condition outcome");
}

#[test]
fn spec_joins_the_path_onto_the_target_prefix() {
    let (text, origin) = fixture("valid-basic.toml");
    let checks = parse(&text, &origin).expect("valid");
    let target = Url::parse("https://app.example.com/api/").expect("url");
    let spec = checks[0].requests[0].spec(&target);
    assert_eq!(spec.url.as_str(), "https://app.example.com/api/health");
    assert_eq!(spec.method, "GET");
    assert!(!spec.follow_redirects);
    assert_eq!(
        spec.headers,
        vec![("accept".to_string(), "application/json".to_string())]
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    assert_eq!(
        invalid("invalid-unknown-key.toml"),
        "tests/fixtures/packs/invalid-unknown-key.toml: check[0].request[0].follow: \
             unknown field `follow`, expected one of `path`, `method`, `headers`, `body`, \
             `follow_redirects`, `all`, `any` (line 10)"
    );
}

#[test]
fn bad_placeholder_is_named_with_its_line() {
    assert_eq!(
        invalid("invalid-placeholder.toml"),
        "tests/fixtures/packs/invalid-placeholder.toml: check[0].request[0].all[1]: \
             unknown placeholder [STAUTS] (line 12)"
    );
}

#[test]
fn bad_regex_is_named_with_its_line() {
    assert_eq!(
        invalid("invalid-regex.toml"),
        "tests/fixtures/packs/invalid-regex.toml: check[0].request[0].any[0]: \
             invalid regex \"(?m)^[A-Z\": unclosed character class (line 10)"
    );
}

#[test]
fn bad_severity_is_named_with_its_line() {
    assert_eq!(
        invalid("invalid-severity.toml"),
        "tests/fixtures/packs/invalid-severity.toml: check[0].severity: unknown severity \
             \"severe\"; expected one of critical, high, medium, low, info (line 5)"
    );
}

#[test]
fn duplicate_id_is_named_with_its_line() {
    assert_eq!(
        invalid("invalid-duplicate-id.toml"),
        "tests/fixtures/packs/invalid-duplicate-id.toml: check[1].id: duplicate id \
             \"myapp.health\"; check[0] already uses it (line 13)"
    );
}

#[test]
fn post_without_mutating_is_refused_with_the_reason() {
    assert_eq!(
        invalid("invalid-post-without-mutating.toml"),
        "tests/fixtures/packs/invalid-post-without-mutating.toml: check[0].request[0].method: \
             POST may change state on the target; only GET, HEAD and OPTIONS are sent unless the \
             check sets mutating = true (line 10)"
    );
}

#[test]
fn path_without_slash_is_refused() {
    assert_eq!(
        invalid("invalid-path.toml"),
        "tests/fixtures/packs/invalid-path.toml: check[0].request[0].path: expected a path \
             starting with / (no spaces, no #fragment), got \"health\" (line 9)"
    );
}

#[test]
fn other_mistakes_have_exact_messages() {
    let base = "[[check]]\nid = \"a.b\"\ntitle = \"t\"\ncategory = \"security\"\n\
                    severity = \"low\"\nremediation = \"r\"\n";
    let cases: &[(&str, &str)] = &[
        (
            "[[check.request]]\npath = \"/\"\n",
            "t.toml: check[0].request[0]: no conditions; give all = [\"…\"] and/or any = [\"…\"] (line 8)",
        ),
        (
            "outcome = \"error\"\n[[check.request]]\npath = \"/\"\nall = [\"[STATUS] == 200\"]\n",
            "t.toml: check[0].outcome: expected \"fail\" or \"warn\", got \"error\" (line 7)",
        ),
        (
            "pass_when = \"most\"\n[[check.request]]\npath = \"/\"\nall = [\"[STATUS] == 200\"]\n",
            "t.toml: check[0].pass_when: expected \"all\" or \"any\", got \"most\" (line 7)",
        ),
        (
            "[[check.request]]\npath = \"/\"\nall = [{ that = \"[STATUS] == 200\", outcome = \"pass\" }]\n",
            "t.toml: check[0].request[0].all[0].outcome: expected \"fail\" or \"warn\", got \"pass\" (line 9)",
        ),
        (
            "[[check.request]]\npath = \"/\"\nall = [{ when = \"[STATUS] == 200\" }]\n",
            "t.toml: check[0].request[0].all[0]: unknown field `when`, expected one of `that`, `outcome`, `ok`, `broken` (line 9)",
        ),
        (
            "[[check.request]]\npath = \"/\"\nheaders = { \"bad header\" = \"x\" }\nall = [\"[STATUS] == 200\"]\n",
            "t.toml: check[0].request[0].headers.bad header: not a valid header name (line 9)",
        ),
        (
            "[[check.request]]\npath = \"/\"\nmethod = \"GE T\"\nall = [\"[STATUS] == 200\"]\n",
            "t.toml: check[0].request[0].method: expected an HTTP method such as GET, got \"GE T\" (line 9)",
        ),
        (
            "",
            "t.toml: check[0]: no [[check.request]]; a check sends at least one request (line 2)",
        ),
    ];
    for (tail, expected) in cases {
        let err = parse(&format!("{base}{tail}"), "t.toml").expect_err(tail);
        assert_eq!(err.to_string(), *expected);
    }
    let bad_id = base.replace("\"a.b\"", "\"MyCheck\"");
    assert_eq!(
        parse(&bad_id, "t.toml").expect_err("id").to_string(),
        "t.toml: check[0].id: expected a dotted lowercase id like \"myapp.health\", got \"MyCheck\" (line 2)"
    );
    assert_eq!(
        parse("", "t.toml").expect_err("empty").to_string(),
        "t.toml: (file): no [[check]] tables; a pack declares at least one check"
    );
    let wrong_category = base.replace("\"security\"", "\"securty\"");
    assert!(
        parse(&wrong_category, "t.toml")
            .expect_err("category")
            .to_string()
            .starts_with(
                "t.toml: check[0].category: unknown category \"securty\"; expected one of security,"
            )
    );
}

#[test]
fn category_accepts_names_and_keys() {
    let text = "[[check]]\nid = \"a.b\"\ntitle = \"t\"\ncategory = \"Health Checks\"\n\
                    severity = \"LOW\"\nremediation = \"r\"\n[[check.request]]\npath = \"/\"\n\
                    all = [\"[STATUS] == 200\"]\n";
    let check = parse(text, "t.toml").expect("valid").remove(0);
    assert_eq!(
        (check.category, check.severity),
        (Category::HealthChecks, Severity::Low)
    );
}

#[test]
fn mutating_check_may_post_with_a_body() {
    let text = "[[check]]\nid = \"a.login\"\ntitle = \"t\"\ncategory = \"security\"\n\
                    severity = \"low\"\nremediation = \"r\"\nmutating = true\n[[check.request]]\n\
                    path = \"/login\"\nmethod = \"post\"\nbody = \"{}\"\nall = [\"[STATUS] == 400\"]\n";
    let check = parse(text, "t.toml").expect("valid").remove(0);
    assert!(check.mutating);
    assert_eq!(check.requests[0].method, "POST");
    assert_eq!(check.requests[0].label(), "POST /login");
    assert_eq!(check.requests[0].body.as_deref(), Some("{}"));
}

#[test]
fn operators_constant_lists_every_operator() {
    assert_eq!(OPERATORS.split(' ').count(), 12);
}
