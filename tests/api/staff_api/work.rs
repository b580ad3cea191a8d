//! One ticket through the API: its detail, notes, resolving (one winner of twelve), each
//! answer checked against the OpenAPI document and audited with channel `api`.

use helpline::domain::ticket::TicketKind;
use serde_json::{Value, json};

use super::{Answer, audit_channels, call, code, conforms, get, token};
use crate::common::desk::Desk;
use crate::common::{http, logs};

async fn post_json(d: &Desk, path: &str, token: &str, body: &Value) -> Answer {
    let body = body.to_string();
    call(
        d,
        reqwest::Method::POST,
        path,
        Some(token),
        Some(("application/json", &body)),
    )
    .await
}

#[tokio::test]
async fn get_note_and_resolve_a_ticket_through_the_api_audited_as_api() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let secret = token(&d, "pat@city.example").await;
    let s = Some(secret.as_str());
    let t = d.ticket(TicketKind::NotMe, Some("C-1002"), "not me").await;
    let doc = get(&d, "/api/v1/openapi.json", None).await.body;
    let one = format!("/api/v1/tickets/{t}");
    let notes = format!("{one}/notes");
    let resolve = format!("{one}/resolve");

    let ticket = get(&d, &one, s).await;
    assert_eq!(ticket.status, 200, "{}", ticket.text);
    assert_eq!(ticket.body["id"], json!(t.0));
    assert_eq!(ticket.body["status"], "open");
    assert_eq!(ticket.body["contractor"]["contractor_number"], "C-1002");
    conforms(&doc, "get", "/api/v1/tickets/{id}", &ticket);
    for (path, status) in [("/api/v1/tickets/777", 404), ("/api/v1/tickets/seven", 400)] {
        let a = get(&d, path, s).await;
        assert_eq!(a.status, status, "{}", a.text);
        conforms(&doc, "get", "/api/v1/tickets/{id}", &a);
    }

    let text = "Called back; reset link on its way.";
    let added = post_json(&d, &notes, &secret, &json!({ "text": text })).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let entry = added.body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["kind"] == "note")
        .expect("the note")
        .clone();
    assert_eq!(
        (entry["author"].as_str(), entry["text"].as_str()),
        (Some("Pat Lee"), Some(text))
    );
    conforms(&doc, "post", "/api/v1/tickets/{id}/notes", &added);
    let note_doc = "/api/v1/tickets/{id}/notes";
    let empty = post_json(&d, &notes, &secret, &json!({ "text": "  " })).await;
    assert_eq!((empty.status, code(&empty)), (422, "empty_note"));
    conforms(&doc, "post", note_doc, &empty);
    let long = post_json(&d, &notes, &secret, &json!({ "text": "x".repeat(4001) })).await;
    assert_eq!((long.status, code(&long)), (422, "note_too_long"));
    let missing = post_json(&d, &notes, &secret, &json!({ "words": "hi" })).await;
    assert_eq!(
        (missing.status, code(&missing)),
        (422, "invalid_body"),
        "{}",
        missing.text
    );
    conforms(&doc, "post", note_doc, &missing);
    let bad_json = call(
        &d,
        reqwest::Method::POST,
        &notes,
        s,
        Some(("application/json", "{\"text\":")),
    )
    .await;
    assert_eq!(
        (bad_json.status, code(&bad_json)),
        (400, "bad_json"),
        "{}",
        bad_json.text
    );
    conforms(&doc, "post", note_doc, &bad_json);
    let form = call(
        &d,
        reqwest::Method::POST,
        &notes,
        s,
        Some(("application/x-www-form-urlencoded", "text=hi")),
    )
    .await;
    assert_eq!(
        (form.status, code(&form)),
        (415, "unsupported_media_type"),
        "{}",
        form.text
    );
    conforms(&doc, "post", note_doc, &form);
    let nowhere = post_json(
        &d,
        "/api/v1/tickets/777/notes",
        &secret,
        &json!({ "text": "hi" }),
    )
    .await;
    assert_eq!(nowhere.status, 404);
    conforms(&doc, "post", note_doc, &nowhere);

    let resolve_doc = "/api/v1/tickets/{id}/resolve";
    let unknown = post_json(&d, &resolve, &secret, &json!({ "resolution": "fixed" })).await;
    assert_eq!(
        (unknown.status, code(&unknown)),
        (422, "unknown_resolution")
    );
    assert!(unknown.text.contains("reset_link_sent"), "{}", unknown.text);
    conforms(&doc, "post", resolve_doc, &unknown);
    let vague = post_json(&d, &resolve, &secret, &json!({ "resolution": "other" })).await;
    assert_eq!((vague.status, code(&vague)), (422, "note_required"));
    let done = post_json(
        &d,
        &resolve,
        &secret,
        &json!({ "resolution": "reset_link_sent", "note": "Sent." }),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "resolved");
    assert_eq!(done.body["resolution"], "reset_link_sent");
    assert_eq!(done.body["resolved_by"], "Pat Lee");
    conforms(&doc, "post", resolve_doc, &done);
    let again = post_json(&d, &resolve, &secret, &json!({ "resolution": "answered" })).await;
    assert_eq!((again.status, code(&again)), (409, "already_resolved"));
    conforms(&doc, "post", resolve_doc, &again);

    for action in ["ticket_note", "ticket_resolved"] {
        let rows = audit_channels(&d, action).await;
        assert_eq!(rows.len(), 1, "{action}: {rows:?}");
        assert_eq!(rows[0].0, "api", "{action}");
    }
    let log = logs::captured();
    assert!(!log.contains(&secret[4..]), "the token reached the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_resolves_at_once_through_the_api_one_wins() {
    let d = Desk::start().await;
    let t = d.ticket(TicketKind::PhoneCall, None, "call me").await;
    let mut secrets = Vec::new();
    for i in 0..12 {
        let email = format!("r{i}@city.example");
        d.add(&email, &format!("Resolver {i}"), "staff").await;
        secrets.push(token(&d, &email).await);
    }
    let url = d.app.url(&format!("/api/v1/tickets/{t}/resolve"));
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let tasks: Vec<_> = secrets
        .into_iter()
        .map(|secret| {
            let (url, barrier) = (url.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                http()
                    .post(url)
                    .header("authorization", format!("Bearer {secret}"))
                    .header("content-type", "application/json")
                    .body(r#"{"resolution":"answered"}"#)
                    .send()
                    .await
                    .expect("resolve")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![200], vec![409; 11]].concat());
    assert_eq!(audit_channels(&d, "ticket_resolved").await.len(), 1);
}
