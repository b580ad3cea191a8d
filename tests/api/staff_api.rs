//! The staff JSON API (`/api/v1/`): tokens from the command line, bearer auth with a flood
//! limit, the queue's list and claim, JSON errors for every failure, and an OpenAPI document
//! that matches both the routes and the real answers.

use std::collections::BTreeSet;

use helpline::domain::channel::Channel;
use helpline::domain::ticket::TicketKind;
use helpline::staff::tokens;
use helpline::store::audit::page as audit_page;
use serde_json::{Value, json};

use crate::common::desk::Desk;
use crate::common::{helpline, http, logs, run};

mod work;

/// An answer: status, headers, body as JSON (`Null` when it is none).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

async fn call(
    d: &Desk,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &str)>,
) -> Answer {
    let mut req = http().request(method, d.app.url(path));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some((content_type, body)) = body {
        req = req
            .header("content-type", content_type)
            .body(body.to_string());
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

async fn get(d: &Desk, path: &str, token: Option<&str>) -> Answer {
    call(d, reqwest::Method::GET, path, token, None).await
}

async fn post(d: &Desk, path: &str, token: Option<&str>) -> Answer {
    call(d, reqwest::Method::POST, path, token, None).await
}

/// A token for a staff login, made by the library (the CLI is tested on its own).
async fn token(d: &Desk, email: &str) -> String {
    use secrecy::ExposeSecret;
    let st = &d.app.state;
    tokens::issue(&st.store, &st.clock, email, "test", "test", Channel::Cli)
        .await
        .expect("store")
        .expect("issued")
        .token
        .expose_secret()
        .to_string()
}

/// The error's code, checking the error shape on the way.
fn code(a: &Answer) -> &str {
    let e = &a.body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "not an API error ({}): {}",
        a.status,
        a.text
    );
    e["code"].as_str().expect("code")
}

async fn audit_channels(d: &Desk, action: &str) -> Vec<(String, String)> {
    audit_page(d.app.state.store.pool(), 0, 10_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| (r.channel, r.detail))
        .collect()
}

#[tokio::test]
async fn a_token_from_the_cli_works_until_revoked_or_the_login_is_disabled_and_is_never_logged() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let cli = |args: &[&str]| {
        run(helpline(d.app.db.dir())
            .env("HELPLINE_DATABASE_URL", d.app.db.url())
            .args(args))
    };
    let (code_, out, err) = cli(&["staff", "token", "pat@city.example", "--label", "laptop"]);
    assert_eq!(code_, 0, "{err}");
    let secret = out.trim().to_string();
    assert!(secret.starts_with("hlp_") && secret.len() > 60, "{out}");
    assert!(!err.contains(&secret), "the token only on stdout: {err}");
    assert!(err.contains("shown once"), "{err}");
    let (code_, _, err) = cli(&["staff", "token", "nobody@city.example"]);
    assert_eq!(code_, 1);
    assert!(err.contains("no staff login"), "{err}");

    let ok = get(&d, "/api/v1/tickets", Some(&secret)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let (_, listed, _) = cli(&["staff", "tokens"]);
    let line = listed
        .lines()
        .find(|l| l.contains("pat@city.example"))
        .expect("listed");
    assert!(line.contains("live") && line.contains("laptop"), "{line}");
    assert!(!line.ends_with("\t-\tlaptop"), "last use is noted: {line}");
    let digest = helpline::domain::secret::token_digest(&secret);
    assert!(
        !listed.contains(&secret) && !listed.contains(&digest),
        "{listed}"
    );
    let id = line.split('\t').next().expect("id").to_string();

    for bad in [None, Some("hlp_0000"), Some("not-even-ours")] {
        let a = get(&d, "/api/v1/tickets", bad).await;
        assert_eq!(a.status, 401, "{}", a.text);
        assert_eq!(code(&a), "unauthorized");
        assert!(
            a.headers["www-authenticate"]
                .to_str()
                .expect("ascii")
                .starts_with("Bearer"),
            "{:?}",
            a.headers
        );
    }
    let basic = call(&d, reqwest::Method::GET, "/api/v1/tickets", None, None).await;
    assert_eq!(basic.status, 401);

    let (code_, out, err) = cli(&["staff", "token", "--revoke", &id]);
    assert_eq!(code_, 0, "{err}");
    assert!(out.contains("revoked"), "{out}");
    assert_eq!(get(&d, "/api/v1/tickets", Some(&secret)).await.status, 401);
    let (code_, _, err) = cli(&["staff", "token", "--revoke", &id]);
    assert_eq!(code_, 1, "a token is revoked once");
    assert!(err.contains("no live API token"), "{err}");

    // A disabled login's tokens stop working at once.
    let other = token(&d, "pat@city.example").await;
    assert_eq!(get(&d, "/api/v1/tickets", Some(&other)).await.status, 200);
    let (code_, _, err) = cli(&["staff", "disable", "pat@city.example"]);
    assert_eq!(code_, 0, "{err}");
    let refused = get(&d, "/api/v1/tickets", Some(&other)).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let (code_, _, err) = cli(&["staff", "token", "pat@city.example"]);
    assert_eq!(code_, 1);
    assert!(err.contains("disabled"), "{err}");

    let issued = audit_channels(&d, "api_token_issued").await;
    assert_eq!(
        issued.len(),
        2,
        "the CLI's token and the test's: {issued:?}"
    );
    assert_eq!(
        issued[0],
        ("cli".into(), "token #1 for Pat Lee (laptop)".into())
    );
    assert_eq!(audit_channels(&d, "api_token_revoked").await.len(), 1);

    let log = logs::captured();
    for s in [&secret, &other] {
        assert!(!log.contains(s.as_str()), "a token reached the logs");
        assert!(!log.contains(&s[4..20]), "part of a token reached the logs");
    }
    let stored = crate::common::every_stored_value(&d.app.state.store, d.app.db.is_postgres());
    for (table, column, value) in stored.await {
        assert!(
            !value.contains(&secret[4..]) && !value.contains(&other[4..]),
            "a token is stored in {table}.{column}"
        );
    }
}

#[tokio::test]
async fn a_flood_of_bad_tokens_gets_429_while_a_good_token_still_works() {
    let d = Desk::start_with(|s| {
        s.guard.per_source_per_minute = 10;
        s.guard.per_source_burst = 10;
    })
    .await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let good = token(&d, "pat@city.example").await;
    let mut statuses = Vec::new();
    for i in 0..40 {
        let a = get(&d, "/api/v1/tickets", Some(&format!("hlp_{i:064}"))).await;
        statuses.push(a.status);
        if a.status == 429 {
            assert_eq!(code(&a), "too_many_requests");
            assert!(a.headers.contains_key("retry-after"));
        }
    }
    assert_eq!(statuses[0], 401);
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses[30..].iter().all(|s| *s == 429), "{statuses:?}");
    let ok = get(&d, "/api/v1/tickets", Some(&good)).await;
    assert_eq!(ok.status, 200, "a good token is not charged: {}", ok.text);
}

#[tokio::test]
async fn the_list_filters_and_validates_like_the_queue_page() {
    let d = Desk::start().await;
    let pat = d.add("pat@city.example", "Pat Lee", "staff").await;
    d.add("sam@city.example", "Sam Roe", "staff").await;
    let t_pat = token(&d, "pat@city.example").await;
    let t_sam = token(&d, "sam@city.example").await;
    let a = d.ticket(TicketKind::NotMe, Some("C-1002"), "not me").await;
    let b = d.ticket(TicketKind::PhoneCall, None, "no contact").await;
    let c = d
        .ticket(TicketKind::PhoneCall, Some("C-1001"), "third")
        .await;
    assert_eq!(
        post(&d, &format!("/api/v1/tickets/{b}/claim"), Some(&t_pat))
            .await
            .status,
        200
    );
    let ids = |a: &Answer| -> Vec<i64> {
        assert_eq!(a.status, 200, "{}", a.text);
        a.body["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .map(|t| t["id"].as_i64().expect("id"))
            .collect()
    };
    let all = ids(&get(&d, "/api/v1/tickets", Some(&t_sam)).await);
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], a.0, "urgent first");
    let mine = get(&d, "/api/v1/tickets?assignee=mine", Some(&t_pat)).await;
    assert_eq!(ids(&mine), vec![b.0]);
    assert_eq!(
        mine.body["tickets"][0]["assignee"],
        json!({"id": pat, "name": "Pat Lee"})
    );
    let theirs = get(&d, "/api/v1/tickets?assignee=mine", Some(&t_sam)).await;
    assert!(ids(&theirs).is_empty());
    let free = get(&d, "/api/v1/tickets?assignee=unassigned", Some(&t_sam)).await;
    assert_eq!(
        ids(&free).into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([a.0, c.0])
    );
    let kind = get(&d, "/api/v1/tickets?kind=not_me", Some(&t_sam)).await;
    assert_eq!(ids(&kind), vec![a.0]);
    let search = get(&d, "/api/v1/tickets?q=c-1001", Some(&t_sam)).await;
    assert_eq!(ids(&search), vec![c.0]);
    let limited = get(&d, "/api/v1/tickets?limit=2", Some(&t_sam)).await;
    assert_eq!(ids(&limited), all[..2].to_vec());
    assert!(ids(&get(&d, "/api/v1/tickets?status=resolved", Some(&t_sam)).await).is_empty());
    assert_eq!(
        ids(&get(&d, "/api/v1/tickets?status=all", Some(&t_sam)).await).len(),
        3
    );
    for (query, words) in [
        ("status=closed", "Unknown status 'closed'"),
        ("kind=fax", "Unknown reason 'fax'"),
        ("assignee=bob", "Unknown assignee 'bob'"),
        ("q=a%07b", "control character"),
        ("limit=0", "limit is a whole number"),
        ("limit=501", "limit is a whole number"),
        ("limit=ten", "limit is a whole number"),
    ] {
        let bad = get(&d, &format!("/api/v1/tickets?{query}"), Some(&t_sam)).await;
        assert_eq!(bad.status, 400, "{query}: {}", bad.text);
        assert_eq!(code(&bad), "bad_filter");
        let message = bad.body["error"]["message"].as_str().expect("message");
        assert!(message.contains(words), "{query}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_claims_at_once_through_the_api_one_wins() {
    let d = Desk::start().await;
    let t = d.ticket(TicketKind::NotMe, Some("C-1002"), "not me").await;
    let mut secrets = Vec::new();
    for i in 0..12 {
        let email = format!("s{i}@city.example");
        d.add(&email, &format!("Staff {i}"), "staff").await;
        secrets.push(token(&d, &email).await);
    }
    let url = d.app.url(&format!("/api/v1/tickets/{t}/claim"));
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let tasks: Vec<_> = secrets
        .into_iter()
        .map(|secret| {
            let (url, barrier) = (url.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let r = http()
                    .post(url)
                    .header("authorization", format!("Bearer {secret}"))
                    .send()
                    .await
                    .expect("claim");
                let status = r.status().as_u16();
                (status, r.text().await.expect("body"))
            })
        })
        .collect();
    let mut won = Vec::new();
    let mut lost = 0;
    for task in tasks {
        let (status, text) = task.await.expect("task");
        let body: Value = serde_json::from_str(&text).expect("json");
        match status {
            200 => won.push(body["assignee"].as_str().expect("holder").to_string()),
            409 => {
                assert_eq!(body["error"]["code"], "already_claimed", "{text}");
                let m = body["error"]["message"].as_str().expect("message");
                assert!(m.contains("already claimed by Staff "), "{m}");
                lost += 1;
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!((won.len(), lost), (1, 11));
    assert!(d.assigned_to(t).await.is_some());
    let claims = audit_channels(&d, "ticket_claimed").await;
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(claims[0].0, "api");
    assert_eq!(claims[0].1, format!("claimed by {}", won[0]));
}

#[tokio::test]
async fn every_failure_is_a_json_error_never_a_500() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let secret = token(&d, "pat@city.example").await;
    let s = Some(secret.as_str());
    let t = d.ticket(TicketKind::NotMe, Some("C-1002"), "not me").await;
    let cases: Vec<(Answer, u16, &str)> = vec![
        (
            post(&d, "/api/v1/tickets/abc/claim", s).await,
            400,
            "bad_id",
        ),
        (
            post(&d, "/api/v1/tickets/999999/claim", s).await,
            404,
            "not_found",
        ),
        (
            post(&d, "/api/v1/tickets/0/claim", s).await,
            404,
            "not_found",
        ),
        (
            get(&d, "/api/v1/tickets/1/claim", s).await,
            405,
            "method_not_allowed",
        ),
        (
            post(&d, "/api/v1/tickets", s).await,
            405,
            "method_not_allowed",
        ),
        (get(&d, "/api/v1/nothing-here", s).await, 404, "not_found"),
        (
            get(&d, "/api/v1/tickets?limit=1&limit=2", s).await,
            400,
            "bad_query",
        ),
        (
            post(&d, "/api/v1/tickets/abc/claim", None).await,
            401,
            "unauthorized",
        ),
    ];
    for (a, status, want) in cases {
        assert_eq!(a.status, status, "{}", a.text);
        assert_eq!(code(&a), want, "{}", a.text);
        assert!(
            a.headers["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("application/json"),
            "{:?}",
            a.headers
        );
    }
    let big = "x".repeat(helpline::channels::api::BODY_MAX + 1);
    let claim = format!("/api/v1/tickets/{t}/claim");
    let too_big = call(
        &d,
        reqwest::Method::POST,
        &claim,
        s,
        Some(("application/json", &big)),
    )
    .await;
    assert_eq!(too_big.status, 413, "{}", too_big.text);
    assert_eq!(code(&too_big), "too_large");
    assert_eq!(
        d.assigned_to(t).await,
        None,
        "a refused request changes nothing"
    );
}

/// The document's operations as (METHOD, path).
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let doc = get(&d, "/api/v1/openapi.json", None).await;
    assert_eq!(doc.status, 200, "the document needs no token: {}", doc.text);
    assert!(
        doc.body["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.")
    );
    let served: BTreeSet<(String, String)> = helpline::channels::api::operations()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    assert_eq!(documented(&doc.body), served);
    // Each documented operation is routed (401 without a token, not 404 or 405), and every
    // other method on its path is not.
    for path in served
        .iter()
        .map(|(_, p)| p.clone())
        .collect::<BTreeSet<_>>()
    {
        let concrete = path.replace("{id}", "1");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let a = call(&d, m, &concrete, None, None).await;
            if served.contains(&(method.to_string(), path.clone())) {
                let secured = path != "/api/v1/openapi.json";
                assert_eq!(a.status, if secured { 401 } else { 200 }, "{method} {path}");
                let op = &doc.body["paths"][&path][method.to_lowercase()];
                assert_eq!(op["security"].is_array(), secured, "{method} {path}: {op}");
            } else {
                assert_eq!(a.status, 405, "{method} {path} is not served: {}", a.text);
            }
        }
    }
    assert_eq!(
        doc.body["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
}

/// Validates an answer against the document's schema for its operation and status.
fn conforms(doc: &Value, method: &str, path: &str, a: &Answer) {
    let op = &doc["paths"][path][method];
    let response = &op["responses"][a.status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} documents no {}: {op}",
        a.status
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {}: no JSON schema",
        a.status
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root).expect("a valid schema");
    let problems: Vec<String> = validator
        .iter_errors(&a.body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{method} {path} {} does not match the document: {problems:?}\n{}",
        a.status,
        a.text
    );
}

#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    d.add("sam@city.example", "Sam Roe", "staff").await;
    let pat = token(&d, "pat@city.example").await;
    let sam = token(&d, "sam@city.example").await;
    let t = d.ticket(TicketKind::NotMe, Some("C-1002"), "not me").await;
    d.ticket(TicketKind::PhoneCall, None, "no contact").await;
    let doc = get(&d, "/api/v1/openapi.json", None).await.body;
    let claim = format!("/api/v1/tickets/{t}/claim");
    let claim_doc = "/api/v1/tickets/{id}/claim";

    let won = post(&d, &claim, Some(&pat)).await;
    assert_eq!(won.status, 200, "{}", won.text);
    conforms(&doc, "post", claim_doc, &won);
    let lost = post(&d, &claim, Some(&sam)).await;
    assert_eq!(lost.status, 409);
    conforms(&doc, "post", claim_doc, &lost);
    let missing = post(&d, "/api/v1/tickets/4242/claim", Some(&sam)).await;
    assert_eq!(missing.status, 404);
    conforms(&doc, "post", claim_doc, &missing);
    let bad_id = post(&d, "/api/v1/tickets/x/claim", Some(&sam)).await;
    assert_eq!(bad_id.status, 400);
    conforms(&doc, "post", claim_doc, &bad_id);

    let list = get(&d, "/api/v1/tickets?status=all", Some(&sam)).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["tickets"].as_array().map(Vec::len), Some(2));
    conforms(&doc, "get", "/api/v1/tickets", &list);
    let unauthorized = get(&d, "/api/v1/tickets", None).await;
    assert_eq!(unauthorized.status, 401);
    conforms(&doc, "get", "/api/v1/tickets", &unauthorized);
    let bad_filter = get(&d, "/api/v1/tickets?status=x", Some(&sam)).await;
    conforms(&doc, "get", "/api/v1/tickets", &bad_filter);

    assert_eq!(won.body["assignee"], "Pat Lee");
    // The check can fail: a list with a field the document does not name does not match.
    let mut extra = list;
    extra.body["tickets"][0]["surprise"] = json!(1);
    let op =
        &doc["paths"]["/api/v1/tickets"]["get"]["responses"]["200"]["content"]["application/json"];
    let mut root = op["schema"].clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root).expect("schema");
    assert!(!validator.is_valid(&extra.body));
}
