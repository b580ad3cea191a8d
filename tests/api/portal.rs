//! The portal's login steps over real HTTP, with real SMTP and the Twilio stand-in: full
//! journeys, enumeration, tokens, CSRF, sessions, password rules, headers, languages, logs.

use std::time::Duration;

use helpline::clock::{Clock, SharedClock};
use helpline::domain::ids::{AccountId, ContractorId};
use helpline::roster;
use helpline::store::{accounts, contractors, tickets};
use mail_parser::MessageParser;
use secrecy::SecretString;

use crate::common::browser::{Browser, Page};
use crate::common::smtp::{Mode, SmtpSink};
use crate::common::twilio::TwilioStandIn;
use crate::common::{TestApp, logs};

pub(crate) const ROSTER: &str = "\
contractor_number,license_number,business_name,contact_name,phone,alt_phone,email
C-1001,B-884512,Front Range Roofing,Pat Alvarez,(303) 658-2075,,pat@frontrange-roofing.example
C-1002,C10-77231,Mile High Electric,Sam Okafor,303.555.0142,,sam@milehigh.example
C-1003,B-990017,Clear Creek Plumbing,Rosa Nguyen,+1 303 555 0177,,
";

pub(crate) const GOOD: &str = "Gr4vel-Tr8ck";
pub(crate) const OLD: &str = "Old-Pa55word";

/// Loads [`ROSTER`] into the app's store.
pub(crate) async fn import_roster(app: &TestApp) {
    let clock: SharedClock = app.clock.clone();
    roster::import(&app.state.store, &clock, ROSTER.as_bytes(), None)
        .await
        .expect("roster");
}

pub(crate) struct Portal {
    pub(crate) app: TestApp,
    pub(crate) smtp: SmtpSink,
    pub(crate) twilio: TwilioStandIn,
}

impl Portal {
    pub(crate) async fn start() -> Portal {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(adjust: impl FnOnce(&mut helpline::config::Settings)) -> Portal {
        logs::capture();
        let smtp = SmtpSink::start(Mode::Accept).await;
        let twilio = TwilioStandIn::start().await;
        let smtp_url = smtp.url();
        let app = TestApp::spawn_with(|s| {
            s.mail.dir = None;
            s.mail.smtp_url = Some(smtp_url.into());
            twilio.configure(s);
            s.city.name = "Westminster".into();
            s.response_floor = Duration::from_millis(20);
            s.forgot_deadline = Duration::from_millis(50);
            // Journeys send many requests from one address: only tests of the limiter itself
            // (which set it back) may be refused by it.
            s.guard.per_source_burst = 10_000;
            s.guard.per_source_per_minute = 10_000;
            adjust(s);
        })
        .await;
        import_roster(&app).await;
        Portal { app, smtp, twilio }
    }

    pub(crate) fn browser(&self) -> Browser {
        Browser::new(&self.app.base)
    }

    pub(crate) async fn contractor_id(&self, number: &str) -> ContractorId {
        contractors::by_number(self.app.state.store.pool(), number)
            .await
            .expect("read")
            .expect("on the roster")
            .id
    }

    /// Gives the contractor an account with a chosen password and a security question.
    pub(crate) async fn with_password(&self, number: &str, password: &str) -> AccountId {
        give_password(&self.app, number, password).await
    }
}

pub(crate) async fn login(b: &mut Browser, user: &str, password: &str) -> Page {
    b.post("/login", &[("username", user), ("password", password)])
        .await
}

/// A sign-in that was refused: the form again with the one message for every refusal, and no
/// session.
#[track_caller]
pub(crate) fn assert_refused(page: &Page, why: &str) {
    assert_eq!(page.status, 200, "{why}: {:?}", page.location());
    assert!(
        page.body
            .contains("The username or password is not correct"),
        "{why}: {}",
        page.body
    );
    assert!(
        !page
            .set_cookies()
            .iter()
            .any(|c| c.contains("helpline_session=") && !c.contains("Max-Age=0")),
        "{why}: a session was started"
    );
}

pub(crate) fn reset_token(text: &str) -> String {
    let start = text.find("/reset/").expect("a reset link") + "/reset/".len();
    text[start..start + 64].to_string()
}

fn not_me_path(text: &str) -> String {
    let start = text.find("/not-me/").expect("a not-me link");
    text[start..start + "/not-me/".len() + 64].to_string()
}

pub(crate) fn text_of(data: &[u8]) -> String {
    let parsed = MessageParser::default().parse(data).expect("parse");
    parsed.body_text(0).expect("text").into_owned()
}

pub(crate) fn temporary_password_in(body: &str) -> String {
    let at = body.find("password is ").expect("a temporary password") + "password is ".len();
    body[at..at + 9].to_string()
}

#[tokio::test]
async fn kiosk_temporary_password_then_forced_change_then_new_password() {
    let p = Portal::start().await;
    let mut b = p.browser();

    let page = b.get("/help").await;
    assert_eq!(page.status, 200);
    let page = b
        .post("/help", &[("number", "c-1001"), ("phone", "303.658.2075")])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), Some("/help/choose"));
    let page = b.get("/help/choose").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("***-***-2075"), "{}", page.body);
    assert!(page.body.contains("p***@frontrange-roofing.example"));
    assert!(
        !page.body.contains("pat@frontrange-roofing.example"),
        "never the full address"
    );

    let page = b.post("/help/send", &[("destination", "sms")]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sent to ***-***-2075"), "{}", page.body);
    let sent = p.twilio.wait_for(1).await;
    assert_eq!(sent[0].field("To"), Some("+13036582075"));
    assert_eq!(sent[0].field("ValidityPeriod"), Some("600"));
    let temp = temporary_password_in(sent[0].field("Body").expect("body"));

    // The verification is single use.
    let again = b.post("/help/send", &[("destination", "sms")]).await;
    assert_eq!(again.status, 410);

    let page = login(&mut b, "C-1001", &temp).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/login/change"));
    assert_eq!(b.get("/account").await.location(), Some("/login/change"));

    let page = b.get("/login/change").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("C-1001"));
    assert!(page.body.contains("Password must be 6 to 25 characters long and contain at least one digit, one lower case letter, one upper case letter and one special character."));

    let change = |pw: &'static str| {
        vec![
            ("password", pw),
            ("confirm", pw),
            ("question", "first_pet"),
            ("answer", "Rex"),
            ("answer_again", " rex "),
        ]
    };
    let t: &'static str = Box::leak(temp.clone().into_boxed_str());
    let page = b.post("/login/change", &change(t)).await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("Must not be the temporary password."),
        "{}",
        page.body
    );

    let page = b.post("/login/change", &change(GOOD)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), Some("/account?changed=1"));
    let account = b.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(
        account
            .body
            .contains("Signed in as <strong>C-1001</strong>"),
        "{}",
        account.body
    );

    // The answer is stored hashed.
    let id = p.contractor_id("C-1001").await;
    let stored = accounts::by_contractor(p.app.state.store.pool(), id)
        .await
        .expect("read")
        .expect("account");
    let answer = stored.security_answer_hash.expect("answer kept");
    assert!(answer.starts_with("$argon2id$") && !answer.to_lowercase().contains("rex"));

    // Signed out, the temporary password no longer works; the new one does.
    let session = b
        .cookies
        .get("helpline_session")
        .cloned()
        .expect("signed in");
    let page = b.post("/logout", &[]).await;
    assert_eq!(page.location(), Some("/login"));
    assert!(
        !b.cookies.contains_key("helpline_session"),
        "the cookie is removed"
    );
    // The old cookie, replayed, is dead on the server too.
    let mut replay = p.browser();
    replay.cookies.insert("helpline_session".into(), session);
    assert_eq!(replay.get("/account").await.location(), Some("/login"));
    assert_refused(
        &login(&mut b, "C-1001", &temp).await,
        "temporary password refused",
    );
    let page = login(&mut b, "C-1001", GOOD).await;
    assert_eq!(page.location(), Some("/account"));

    // The change was announced by email and SMS on record, with a "this wasn't me" path.
    // (After the email that told of the temporary password, sent with the text.)
    let mails = p.smtp.wait_for(2).await;
    let told = text_of(&mails[0].data);
    assert!(told.contains("phone ending in 2075"), "{told}");
    assert!(!told.contains(&temp), "never the password itself");
    let notice = text_of(&mails[1].data);
    assert!(
        notice.contains("was changed at your first sign-in"),
        "{notice}"
    );
    assert!(notice.contains("/not-me/"));
    let texts = p.twilio.wait_for(2).await;
    assert!(texts[1].field("Body").expect("body").contains("/not-me/"));

    assert_logs_clean(&[&temp, GOOD, &reset_or_none(&notice)]);
}

fn reset_or_none(text: &str) -> String {
    text.find("/not-me/")
        .map_or_else(|| "\u{0}".into(), |i| text[i + 8..i + 8 + 64].to_string())
}

/// This test's logs hold none of `secrets`, no link with its token, and no temporary password.
pub(crate) fn assert_logs_clean(secrets: &[&str]) {
    let logs = logs::captured();
    assert!(
        logs.contains("finished processing request"),
        "this test's requests were logged and captured"
    );
    for s in secrets {
        assert!(!logs.contains(s), "«{s}» reached the logs");
    }
    for path in ["/reset/", "/not-me/"] {
        for (at, _) in logs.match_indices(path) {
            let next = logs[at + path.len()..].chars().next();
            assert!(
                !next.is_some_and(|c| c.is_ascii_hexdigit()),
                "a link with its token reached the logs: {}",
                &logs[at..(at + 80).min(logs.len())]
            );
        }
    }
    for phrase in ["password is ", "contraseña temporal es"] {
        assert!(!logs.contains(phrase), "«{phrase}…» reached the logs");
    }
}

#[tokio::test]
async fn forgot_email_link_reset_then_sign_in() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut other = p.browser();
    assert_eq!(
        login(&mut other, "C-1001", OLD).await.location(),
        Some("/account")
    );

    let mut b = p.browser();
    let page = b.post("/forgot", &[("username", "C-1001")]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/forgot?sent=1"));
    let page = b.get("/forgot?sent=1").await;
    assert!(page.body.contains("is on its way"));
    // A second request (a resubmitted form) sends nothing more.
    b.post("/forgot", &[("username", "C-1001")]).await;

    let mails = p.smtp.wait_for(1).await;
    let msg = MessageParser::default()
        .parse(&mails[0].data)
        .expect("parse");
    assert_eq!(
        msg.to().and_then(|t| t.first()).and_then(|a| a.address()),
        Some("pat@frontrange-roofing.example")
    );
    let token = reset_token(&text_of(&mails[0].data));
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE template = 'reset_link'")
            .fetch_one(p.app.state.store.pool())
            .await
            .expect("count");
    assert_eq!(queued, 1, "one email however often the form is sent");

    let mut fresh = p.browser();
    let page = fresh.get(&format!("/reset/{token}")).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/reset"), "the token leaves the URL");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("helpline_reset=") && c.contains("HttpOnly"))
    );
    let form = fresh.get("/reset").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("C-1001"));
    assert_eq!(form.header("referrer-policy"), Some("no-referrer"));

    let page = fresh
        .post("/reset", &[("password", GOOD), ("confirm", GOOD)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Your password was changed"));
    assert!(
        !fresh.cookies.contains_key("helpline_session"),
        "no automatic sign-in"
    );

    assert_eq!(
        other.get("/account").await.location(),
        Some("/login"),
        "other sessions ended"
    );
    assert_refused(&login(&mut b, "C-1001", OLD).await, "old password refused");
    assert_eq!(
        login(&mut b, "C-1001", GOOD).await.location(),
        Some("/account")
    );

    // Used once: the link is dead now.
    let again = p.browser().get(&format!("/reset/{token}")).await;
    assert_eq!(again.status, 410);
    assert!(
        again
            .body
            .contains("This link is no longer valid — request a new one.")
    );
    assert!(again.body.contains("href=\"/forgot\""));

    let notice = text_of(&p.smtp.wait_for(2).await[1].data);
    assert!(notice.contains("was changed with a reset link"), "{notice}");
    assert_logs_clean(&[&token, GOOD, OLD]);
}

#[tokio::test]
async fn the_forgot_page_is_the_same_whatever_the_username() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut b = p.browser();
    // A name with an email on record, a name nobody has, and a contractor with no email.
    let mut pages = Vec::new();
    for name in ["C-1001", "C-9999", "C-1003"] {
        let answer = b.post("/forgot", &[("username", name)]).await;
        assert_eq!(answer.status, 303, "{name}");
        let to = answer.location().expect("a redirect").to_string();
        let page = b.get(&to).await;
        assert_eq!(page.status, 200, "{name}");
        pages.push((name, answer, to, page));
    }
    let (_, known, known_to, known_page) = &pages[0];
    assert!(
        known_page.body.contains("is on its way"),
        "{}",
        known_page.body
    );
    for (name, answer, to, page) in &pages[1..] {
        assert_eq!(to, known_to, "{name}");
        assert_eq!(answer.body, known.body, "{name}");
        assert_eq!(page.body, known_page.body, "{name}: the page shown");
        let cookie_names = |p: &Page| {
            p.set_cookies()
                .iter()
                .map(|c| c.split('=').next().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(cookie_names(answer), cookie_names(known), "{name}");
    }
    // Only the known name got a link.
    let recipients: Vec<String> = sqlx::query_scalar("SELECT recipient FROM outbox")
        .fetch_all(p.app.state.store.pool())
        .await
        .expect("outbox");
    assert_eq!(
        recipients,
        vec!["pat@frontrange-roofing.example".to_string()]
    );
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reset_tokens")
        .fetch_one(p.app.state.store.pool())
        .await
        .expect("links");
    assert_eq!(links, 1, "no link was made for the other names");
}

#[tokio::test]
async fn unknown_user_wrong_password_and_locked_account_look_the_same() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    p.with_password("C-1002", OLD).await;
    let mut b = p.browser();
    let unknown = login(&mut b, "C-9999", "Whatever-1").await;
    let wrong = login(&mut b, "C-1001", "Whatever-1").await;
    for _ in 0..3 {
        p.app.clock.advance(Duration::from_secs(2));
        login(&mut b, "C-1002", "Whatever-1").await;
    }
    // Locked now: even the right password gets the same page.
    let locked = login(&mut b, "C-1002", OLD).await;
    assert_eq!(unknown.status, 200);
    assert!(
        unknown
            .body
            .contains("The username or password is not correct")
    );
    // Byte-identical but for the username typed, which the page keeps in its field.
    let typed = |page: &Page, user: &str| {
        page.body
            .replace(&format!("value=\"{user}\""), "value=\"(typed)\"")
    };
    assert!(unknown.body.contains("value=\"C-9999\""));
    assert_eq!(
        typed(&wrong, "C-1001"),
        typed(&unknown, "C-9999"),
        "byte-identical"
    );
    assert_eq!(
        typed(&locked, "C-1002"),
        typed(&unknown, "C-9999"),
        "byte-identical"
    );
    assert_eq!(locked.status, unknown.status);
    p.app.clock.advance(Duration::from_secs(61));
    assert_eq!(
        login(&mut b, "C-1002", OLD).await.location(),
        Some("/account"),
        "the wait ends"
    );
}

#[tokio::test]
async fn reset_links_are_single_use_even_when_submitted_twice_at_once() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut b = p.browser();
    b.post("/forgot", &[("username", "C-1001")]).await;
    let token = reset_token(&text_of(&p.smtp.wait_for(1).await[0].data));

    let mut first = p.browser();
    let mut second = p.browser();
    let path = format!("/reset/{token}");
    let (a, b2) = tokio::join!(
        first.post(&path, &[("password", GOOD), ("confirm", GOOD)]),
        second.post(
            &path,
            &[("password", "Other-Pa55"), ("confirm", "Other-Pa55")]
        ),
    );
    let mut statuses = [a.status, b2.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 410], "exactly one wins");
    let (won, lost) = if a.status == 200 {
        (GOOD, "Other-Pa55")
    } else {
        ("Other-Pa55", GOOD)
    };
    // The winner's password is the one in force; the loser's and the old one are not.
    let mut b = p.browser();
    p.app.clock.advance(Duration::from_secs(2));
    assert_refused(&login(&mut b, "C-1001", lost).await, "the losing password");
    p.app.clock.advance(Duration::from_secs(2));
    assert_refused(&login(&mut b, "C-1001", OLD).await, "the old password");
    p.app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        login(&mut b, "C-1001", won).await.location(),
        Some("/account"),
        "the winning password"
    );
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reset_tokens WHERE used_at IS NOT NULL AND purpose = 'reset'",
    )
    .fetch_one(p.app.state.store.pool())
    .await
    .expect("count");
    assert_eq!(used, 1);
}

#[tokio::test]
async fn a_reset_link_expires_exactly_at_its_lifetime() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let issued = p.app.clock.now_ms();
    p.browser().post("/forgot", &[("username", "C-1001")]).await;
    let token = reset_token(&text_of(&p.smtp.wait_for(1).await[0].data));
    let expires = issued + 3_600_000;
    p.app.clock.set(expires - 1);
    assert_eq!(
        p.browser().get(&format!("/reset/{token}")).await.status,
        303,
        "valid 1 ms before"
    );
    p.app.clock.set(expires);
    assert_eq!(
        p.browser().get(&format!("/reset/{token}")).await.status,
        410,
        "invalid at the boundary"
    );
}

#[tokio::test]
async fn bad_tokens_get_the_same_clear_page_never_a_500() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    p.browser().post("/forgot", &[("username", "C-1001")]).await;
    let token = reset_token(&text_of(&p.smtp.wait_for(1).await[0].data));
    let mut tampered = token.clone().into_bytes();
    tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).expect("hex");
    let long = "a".repeat(10 * 1024);
    let nul = format!("{}%00", &token[..63]);
    for path in [
        format!("/reset/{tampered}"),
        format!("/reset/{long}"),
        format!("/reset/{nul}"),
        "/reset/%00%00".to_string(),
        "/reset/".to_string(),
        format!("/reset/{}", token.to_uppercase().replace('A', "Z")),
    ] {
        let mut b = p.browser();
        let page = b.get(&path).await;
        assert_eq!(page.status, 410, "{}", &path[..path.len().min(40)]);
        assert!(
            page.body
                .contains("This link is no longer valid — request a new one.")
        );
        let page = b
            .post(&path, &[("password", GOOD), ("confirm", GOOD)])
            .await;
        assert!(
            matches!(page.status, 410),
            "POST {}: {}",
            &path[..path.len().min(40)],
            page.status
        );
    }
    // /reset without a cookie is invalid too.
    assert_eq!(p.browser().get("/reset").await.status, 410);
    // The real link still works: nothing above used it up.
    assert_eq!(
        p.browser().get(&format!("/reset/{token}")).await.status,
        303
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut b = p.browser();
    b.get("/login").await;
    let fields = |csrf: Option<&str>| {
        let mut v = vec![
            ("username".to_string(), "C-1001".to_string()),
            ("password".to_string(), OLD.to_string()),
        ];
        if let Some(c) = csrf {
            v.push(("csrf".to_string(), c.to_string()));
        }
        v
    };
    let missing = b.post_raw("/login", &fields(None)).await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("This form has expired"));
    let wrong = b
        .post_raw("/login", &fields(Some("0123456789abcdef0123456789abcdef")))
        .await;
    assert_eq!(wrong.status, 403);
    let mut other = p.browser();
    let theirs = other.csrf().await;
    assert_eq!(
        b.post_raw("/login", &fields(Some(&theirs))).await.status,
        403
    );
    for path in [
        "/forgot",
        "/register",
        "/help",
        "/logout",
        "/login/change",
        "/reset",
    ] {
        assert_eq!(b.post_raw(path, &[]).await.status, 403, "{path}");
    }
    let mine = b.csrf().await;
    assert_eq!(
        b.post_raw("/login", &fields(Some(&mine))).await.location(),
        Some("/account")
    );
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_sessions_time_out() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut b = p.browser();
    let planted = "ab".repeat(32);
    b.cookies.insert("helpline_session".into(), planted.clone());
    let page = login(&mut b, "C-1001", OLD).await;
    assert_eq!(page.location(), Some("/account"));
    let first = b.cookies.get("helpline_session").cloned().expect("session");
    assert_ne!(first, planted, "a fresh id at login");
    assert_eq!(first.len(), 64, "256-bit id");
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("helpline_session="))
        .expect("set");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Max-Age"),
        "{cookie}"
    );

    let mut attacker = p.browser();
    attacker.cookies.insert("helpline_session".into(), planted);
    assert_eq!(attacker.get("/account").await.location(), Some("/login"));

    login(&mut b, "C-1001", OLD).await;
    assert_ne!(
        b.cookies.get("helpline_session"),
        Some(&first),
        "rotated again"
    );

    // Idle for more than 30 minutes: signed out.
    assert_eq!(b.get("/account").await.status, 200);
    p.app.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(b.get("/account").await.location(), Some("/login"));

    // "Remember me" lasts, with a persistent cookie.
    let mut r = p.browser();
    let page = r
        .post(
            "/login",
            &[("username", "C-1001"), ("password", OLD), ("remember", "1")],
        )
        .await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("helpline_session="))
        .expect("set");
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
    p.app.clock.advance(Duration::from_secs(3 * 3600));
    assert_eq!(r.get("/account").await.status, 200);
}

#[tokio::test]
async fn every_password_rule_and_edge_length_is_named_next_to_the_field() {
    let p = Portal::start().await;
    let mut b = p.browser();
    b.post("/help", &[("number", "C-1001"), ("phone", "3036582075")])
        .await;
    b.post("/help/send", &[("destination", "sms")]).await;
    let temp = temporary_password_in(p.twilio.wait_for(1).await[0].field("Body").expect("body"));
    assert_eq!(
        login(&mut b, "C-1001", &temp).await.location(),
        Some("/login/change")
    );

    let cases: Vec<(String, Option<&str>)> = vec![
        ("aB1!x".into(), Some("Must be at least 6 characters.")),
        ("aB1!xy".into(), None),
        (format!("aB1!{}", "x".repeat(21)), None),
        (
            format!("aB1!{}", "x".repeat(22)),
            Some("Must be at most 25 characters."),
        ),
        ("abcdeF!".into(), Some("Must contain at least one digit.")),
        (
            "ABCDE1!".into(),
            Some("Must contain at least one lower case letter."),
        ),
        (
            "abcde1!".into(),
            Some("Must contain at least one upper case letter."),
        ),
        (
            "Abcde12".into(),
            Some("Must contain at least one special character"),
        ),
        ("Password1!".into(), Some("This password is too common")),
        ("xC-1001!aB".into(), Some("Must not contain your username.")),
        (
            "Qb-884512z".into(),
            Some("Must not contain your license number."),
        ),
        ("Westminster9!".into(), Some("Must not contain the city")),
    ];
    for (pw, expected) in cases {
        // The confirmation differs on purpose, so an acceptable password is not saved.
        let page = b
            .post(
                "/login/change",
                &[
                    ("password", &pw),
                    ("confirm", "different"),
                    ("question", "first_pet"),
                    ("answer", "Rex"),
                    ("answer_again", "Rex"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{pw}");
        let password_errors = page
            .body
            .split("id=\"password-error\"")
            .nth(1)
            .map(|rest| rest.split("</ul>").next().unwrap_or("").to_string());
        match expected {
            Some(msg) => assert!(
                password_errors.as_deref().unwrap_or("").contains(msg),
                "{pw}: {}",
                page.body
            ),
            None => assert!(
                password_errors.is_none(),
                "{pw} is acceptable: {password_errors:?}"
            ),
        }
        assert!(page.body.contains("The two passwords do not match."));
    }
    let page = b
        .post(
            "/login/change",
            &[
                ("password", GOOD),
                ("confirm", GOOD),
                ("question", ""),
                ("answer", ""),
                ("answer_again", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.body
            .matches("<li>This field is required.</li>")
            .count(),
        3,
        "question and both answers"
    );
}

fn registration(
    license: &'static str,
    phone: &'static str,
    email: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vec![
        ("license_number", license),
        ("business_name", "Clear Creek Plumbing"),
        ("contact_name", "Rosa Nguyen"),
        ("phone", phone),
        ("email", email),
        ("workers_comp_policy", "WC-5531"),
        ("workers_comp_expires", "2027-06-30"),
        ("password", GOOD),
        ("confirm", GOOD),
        ("question", "birth_city"),
        ("answer", "Denver"),
        ("answer_again", "Denver"),
    ]
}

/// Issue 6, item 1: a license and a phone on record, with the attacker's own email and
/// password, used to answer "Account ready" and sign the attacker in.
#[tokio::test]
async fn registering_with_a_roster_match_sends_a_setup_link_on_record_and_signs_nobody_in() {
    let p = Portal::start().await;
    let mut attacker = p.browser();
    let page = attacker
        .post(
            "/register",
            &registration("B-884512", "(303) 658-2075", "attacker@evil.example"),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("p***@frontrange-roofing.example"),
        "says where on record the link went: {}",
        page.body
    );
    assert!(!page.body.contains("Account ready"));
    assert!(
        !attacker.cookies.contains_key("helpline_session"),
        "nobody is signed in"
    );
    // The attacker's password was discarded: it signs nobody in.
    assert_refused(
        &login(&mut attacker, "C-1001", GOOD).await,
        "the attacker's password",
    );
    let id = p.contractor_id("C-1001").await;
    let account = accounts::by_contractor(p.app.state.store.pool(), id)
        .await
        .expect("read")
        .expect("an account row for the link");
    assert!(account.password_hash.is_none(), "no password was set");

    // The single-use setup link went to the email on record, and nothing to the attacker.
    let mails = p.smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].to,
        vec!["<pat@frontrange-roofing.example>".to_string()]
    );
    let token = reset_token(&text_of(&mails[0].data));
    // The owner follows it and chooses a password (with a security question: a first login).
    let mut owner = p.browser();
    assert_eq!(owner.get(&format!("/reset/{token}")).await.status, 303);
    let done = owner
        .post(
            "/reset",
            &[
                ("password", OLD),
                ("confirm", OLD),
                ("question", "first_pet"),
                ("answer", "Rex"),
                ("answer_again", "Rex"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        login(&mut owner, "C-1001", OLD).await.location(),
        Some("/account")
    );

    // A contractor with no email on record gets a temporary password at the mobile on record.
    let page = p
        .browser()
        .post(
            "/register",
            &registration("b-990017", "(303) 555-0177", "rosa@clearcreek.example"),
        )
        .await;
    assert!(page.body.contains("***-***-0177"), "{}", page.body);
    // (The first text is C-1001's change notice.)
    let texts = p.twilio.wait_for(2).await;
    assert_eq!(texts[1].field("To"), Some("+13035550177"));
    assert!(texts[1].field("Body").expect("body").contains("temporary"));
    assert_refused(
        &login(&mut p.browser(), "C-1003", GOOD).await,
        "the typed password does not work",
    );

    // Unmatched: kept for staff with a ticket, the secrets hashed.
    let page = p
        .browser()
        .post(
            "/register",
            &registration("Z-424242", "(720) 555-0100", "rosa@clearcreek.example"),
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("We received your registration"),
        "{}",
        page.body
    );
    let open = tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets");
    let t = open
        .iter()
        .find(|t| t.kind == "registration")
        .expect("a registration ticket");
    assert!(t.summary.contains("Z-424242"));
    assert!(!t.detail.contains(GOOD) && !t.detail.contains("rosa@clearcreek.example"));
}

/// Registration is an identity check: wrong phones for a license count on the same counter as
/// the kiosk's, so it cannot be used to guess the phone on record.
#[tokio::test]
async fn registration_mismatches_count_like_kiosk_failures() {
    let p = Portal::start().await;
    for phone in ["(720) 555-0101", "(720) 555-0102", "(720) 555-0103"] {
        p.app.clock.advance(Duration::from_secs(2));
        let page = p
            .browser()
            .post(
                "/register",
                &registration("B-884512", phone, "guess@evil.example"),
            )
            .await;
        assert!(page.body.contains("We received your registration"));
    }
    // The right phone now gets the same "received" answer, and nothing is sent.
    let page = p
        .browser()
        .post(
            "/register",
            &registration("B-884512", "(303) 658-2075", "guess@evil.example"),
        )
        .await;
    assert!(
        page.body.contains("We received your registration"),
        "{}",
        page.body
    );
    // The kiosk's identity check for the same contractor waits too.
    let page = p
        .browser()
        .post("/help", &[("number", "C-1001"), ("phone", "303-658-2075")])
        .await;
    assert_eq!(
        page.status,
        200,
        "refused, not sent on: {:?}",
        page.location()
    );
    assert!(
        page.body.contains("We could not verify those details"),
        "{}",
        page.body
    );
    assert!(
        !page
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("helpline_help=")),
        "no verification is held"
    );
    assert_eq!(
        crate::common::outbox::queued_count(&p.app.state.store).await,
        0,
        "nothing was queued"
    );
}

#[tokio::test]
async fn registration_fields_are_each_named() {
    let p = Portal::start().await;
    let mut b = p.browser();
    // Missing and invalid fields are each named; entered values are kept.
    let page = b
        .post(
            "/register",
            &[
                ("license_number", ""),
                ("business_name", "Acme"),
                ("phone", "555-12"),
                ("email", "nope"),
                ("workers_comp_policy", "WC-1"),
                ("workers_comp_expires", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/register"));
    let page = b.get("/register").await;
    for msg in [
        "Enter a 10-digit phone number",
        "Enter an email address",
        "This policy has expired.",
    ] {
        assert!(page.body.contains(msg), "{msg}");
    }
    assert!(
        page.body.matches("This field is required.").count() >= 7,
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"Acme\""));
    // Switching language keeps the fields and the errors.
    let es = b.get("/register?lang=es").await;
    assert!(es.body.contains("value=\"Acme\""), "{}", es.body);
    assert!(es.body.contains("Esta póliza"), "{}", es.body);
    assert!(
        page.body
            .contains("<abbr title=\"required\" class=\"req\">*</abbr>")
    );
}

#[tokio::test]
async fn this_wasnt_me_freezes_the_account_and_opens_an_urgent_ticket() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    p.browser().post("/forgot", &[("username", "C-1001")]).await;
    let token = reset_token(&text_of(&p.smtp.wait_for(1).await[0].data));
    let mut b = p.browser();
    b.get(&format!("/reset/{token}")).await;
    b.post("/reset", &[("password", GOOD), ("confirm", GOOD)])
        .await;
    let notice = text_of(&p.smtp.wait_for(2).await[1].data);
    let path = not_me_path(&notice);

    let mut owner = p.browser();
    let page = owner.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Freeze my account"));
    let page = owner.post(&path, &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Your account is frozen"));
    assert_refused(&login(&mut b, "C-1001", GOOD).await, "frozen: refused");
    let open = tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets");
    assert_eq!(
        open.first().map(|t| (t.kind.as_str(), t.priority.as_str())),
        Some(("not_me", "urgent"))
    );
    assert_eq!(owner.post(&path, &[]).await.status, 410, "single use");
}

#[tokio::test]
async fn kiosk_verification_needs_both_factors_and_says_nothing_about_which() {
    let p = Portal::start().await;
    let mut b = p.browser();
    let wrong_phone = b
        .post("/help", &[("number", "C-1001"), ("phone", "3035550000")])
        .await;
    let unknown = b
        .post("/help", &[("number", "C-7777"), ("phone", "3036582075")])
        .await;
    let garbage = b
        .post("/help", &[("number", "C-1001"), ("phone", "not a phone")])
        .await;
    assert!(
        wrong_phone
            .body
            .contains("We could not verify those details")
    );
    assert_eq!(wrong_phone.body, unknown.body);
    assert_eq!(wrong_phone.body, garbage.body);
    assert_eq!(
        b.post("/help/send", &[("destination", "email")])
            .await
            .status,
        410,
        "not verified"
    );
    assert!(p.twilio.requests().is_empty());
}

#[tokio::test]
async fn pages_send_security_headers_and_speak_spanish() {
    let p = Portal::start().await;
    let mut b = p.browser();
    let page = b.get("/login").await;
    let csp = page.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.body
            .contains("<label for=\"username\">Contractor number")
    );
    assert!(!page.body.contains("<script"));
    let csrf = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("helpline_csrf="))
        .expect("csrf cookie");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"),
        "{csrf}"
    );

    let mut es = p.browser();
    es.accept_language = Some("es-MX,es;q=0.9".into());
    let page = es.get("/login").await;
    assert!(page.body.contains("<html lang=\"es\">") && page.body.contains("Iniciar sesión"));
    let mut switch = p.browser();
    switch.get("/login?lang=es").await;
    assert!(
        switch
            .get("/forgot")
            .await
            .body
            .contains("Olvidé mi contraseña"),
        "the switch is remembered"
    );
    assert_eq!(p.browser().get("/static/portal.css").await.status, 200);
}

/// Over https every cookie is `__Host-` prefixed, Secure, `Path=/` and host-only, removals
/// included (a browser ignores a removal that is not, and the cookie stays): the kiosk, a
/// temporary password and the forced change, sign-out, a reset link and the reset. The test
/// browser refuses any `__Host-` cookie a real browser would ignore.
#[tokio::test]
async fn an_https_journey_uses_host_cookies_end_to_end() {
    let p = Portal::start_with(|s| {
        s.public_url = url::Url::parse("https://help.example.gov/").expect("url");
    })
    .await;
    p.with_password("C-1002", OLD).await;
    let mut b = p.browser();

    // The kiosk in Spanish and back, verified, a text sent.
    b.get("/help?lang=es").await;
    b.get("/help?lang=en").await;
    let page = b
        .post("/help", &[("number", "C-1001"), ("phone", "3036582075")])
        .await;
    assert_eq!(page.location(), Some("/help/choose"));
    assert!(b.cookies.contains_key("__Host-helpline_help"));
    let page = b.post("/help/send", &[("destination", "sms")]).await;
    assert!(page.body.contains("Sent to ***-***-2075"), "{}", page.body);
    assert!(
        !b.cookies.contains_key("__Host-helpline_help"),
        "the used verification's cookie is removed"
    );
    let temp = temporary_password_in(p.twilio.wait_for(1).await[0].field("Body").expect("body"));

    // Signed in with it, the forced change, then sign-out.
    assert_eq!(
        login(&mut b, "C-1001", &temp).await.location(),
        Some("/login/change")
    );
    assert!(b.cookies.contains_key("__Host-helpline_device"));
    let page = b
        .post(
            "/login/change",
            &[
                ("password", GOOD),
                ("confirm", GOOD),
                ("question", "first_pet"),
                ("answer", "Rex"),
                ("answer_again", "Rex"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/account?changed=1"), "{}", page.body);
    let session = b
        .cookies
        .get("__Host-helpline_session")
        .cloned()
        .expect("signed in");
    assert_eq!(b.get("/account").await.status, 200);
    let page = b.post("/logout", &[]).await;
    assert_eq!(page.location(), Some("/login"));
    assert!(!b.cookies.contains_key("__Host-helpline_session"));
    let mut replay = p.browser();
    replay
        .cookies
        .insert("__Host-helpline_session".into(), session);
    assert_eq!(replay.get("/account").await.location(), Some("/login"));

    // A reset link: its token goes into a cookie, which the reset removes.
    b.post("/forgot", &[("username", "C-1002")]).await;
    let mails = p.smtp.wait_for(3).await;
    let link = mails
        .iter()
        .find(|m| m.to == ["<sam@milehigh.example>"])
        .expect("the link to C-1002");
    let token = reset_token(&text_of(&link.data));
    let page = b.get(&format!("/reset/{token}")).await;
    assert_eq!(page.location(), Some("/reset"));
    // (Scoped to /reset, so `__Secure-`: a `__Host-` cookie must have `Path=/`.)
    let set = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Secure-helpline_reset="))
        .expect("the reset cookie");
    assert!(
        set.contains("Path=/reset") && set.contains("HttpOnly"),
        "{set}"
    );
    let page = b
        .post("/reset", &[("password", GOOD), ("confirm", GOOD)])
        .await;
    assert!(
        page.body.contains("Your password was changed"),
        "{}",
        page.body
    );
    assert!(!b.cookies.contains_key("__Secure-helpline_reset"));
    let removal = page_removal(&b, "__Secure-helpline_reset=");
    assert!(
        removal.contains("Secure") && removal.contains("Path=/reset"),
        "{removal}"
    );
    assert_eq!(
        login(&mut b, "C-1002", GOOD).await.location(),
        Some("/account")
    );
    b.post("/logout", &[]).await;

    // Every cookie of the journey was a `__Host-` one (the reset link's a `__Secure-` one);
    // the browser checked each, removals too, and only the long-lived ones are left.
    let names: std::collections::BTreeSet<String> = b
        .set_cookie_log
        .iter()
        .map(|c| c.split('=').next().unwrap_or("").to_string())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("__Host-helpline_") || n == "__Secure-helpline_reset"),
        "{names:?}"
    );
    for name in ["session", "help", "csrf", "lang", "device", "result"] {
        assert!(
            names.contains(&format!("__Host-helpline_{name}")),
            "{name}: {names:?}"
        );
    }
    let removals = b
        .set_cookie_log
        .iter()
        .filter(|c| c.contains("Max-Age=0"))
        .count();
    assert!(removals >= 3, "{:?}", b.set_cookie_log);
    let left: Vec<&String> = b.cookies.keys().collect();
    assert!(
        left.iter().all(|n| {
            [
                "__Host-helpline_csrf",
                "__Host-helpline_lang",
                "__Host-helpline_device",
                // What the last form did (masked), shown on the page after its redirect.
                "__Host-helpline_result",
            ]
            .contains(&n.as_str())
        }),
        "{left:?}"
    );
}

/// The last Set-Cookie this browser was sent that starts with `prefix` and removes it.
fn page_removal(b: &Browser, prefix: &str) -> String {
    b.set_cookie_log
        .iter()
        .rev()
        .find(|c| c.starts_with(prefix) && c.contains("Max-Age=0"))
        .cloned()
        .unwrap_or_else(|| panic!("no removal of {prefix} in {:?}", b.set_cookie_log))
}

/// Whoever can read the database finds no secret in clear: no session id, link token,
/// kiosk verification id, temporary password or password, in any column of any table, once
/// the messages that carry them are delivered.
#[tokio::test]
async fn secrets_are_stored_only_hashed() {
    let p = Portal::start().await;
    p.with_password("C-1002", OLD).await;

    // A temporary password by text, and a signed-in session with it.
    let mut kiosk = p.browser();
    kiosk
        .post("/help", &[("number", "C-1001"), ("phone", "3036582075")])
        .await;
    kiosk.post("/help/send", &[("destination", "sms")]).await;
    let temp = temporary_password_in(p.twilio.wait_for(1).await[0].field("Body").expect("body"));
    assert_eq!(
        login(&mut kiosk, "C-1001", &temp).await.location(),
        Some("/login/change")
    );
    let forced_session = kiosk.cookies["helpline_session"].clone();
    // A kiosk verification held and not used yet.
    let mut held = p.browser();
    held.post("/help", &[("number", "C-1002"), ("phone", "303.555.0142")])
        .await;
    let verification = held.cookies["helpline_help"].clone();
    // A reset link used, with its "this wasn't me" link, then a new one left live.
    p.browser().post("/forgot", &[("username", "C-1002")]).await;
    // mails[0] told of the temporary password.
    let used = reset_token(&text_of(&p.smtp.wait_for(2).await[1].data));
    let mut r = p.browser();
    r.get(&format!("/reset/{used}")).await;
    r.post("/reset", &[("password", GOOD), ("confirm", GOOD)])
        .await;
    let notice = text_of(&p.smtp.wait_for(3).await[2].data);
    let not_me = reset_or_none(&notice);
    p.app.clock.advance(Duration::from_secs(6 * 60));
    p.browser().post("/forgot", &[("username", "C-1002")]).await;
    let live = reset_token(&text_of(&p.smtp.wait_for(4).await[3].data));
    // A remembered session, and a device cookie.
    let mut remembered = p.browser();
    remembered
        .post(
            "/login",
            &[
                ("username", "C-1002"),
                ("password", GOOD),
                ("remember", "1"),
            ],
        )
        .await;
    let session = remembered.cookies["helpline_session"].clone();
    let device = remembered.cookies["helpline_device"].clone();
    let nonce = device.split('.').next().expect("nonce").to_string();

    // Wait until the worker has delivered everything, and so erased the bodies.
    let pool = p.app.state.store.pool().clone();
    let mut waiting = -1;
    for _ in 0..200 {
        waiting = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
            .fetch_one(&pool)
            .await
            .expect("count");
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting, 0, "every message delivered");

    let secrets = [
        ("the temporary password", temp.as_str()),
        ("a session id", forced_session.as_str()),
        ("a remembered session id", session.as_str()),
        ("a kiosk verification id", verification.as_str()),
        ("a used reset token", used.as_str()),
        ("a live reset token", live.as_str()),
        ("a not-me token", not_me.as_str()),
        ("a device cookie's nonce", nonce.as_str()),
        ("a password", GOOD),
        ("a password", OLD),
    ];
    let values =
        crate::common::every_stored_value(&p.app.state.store, p.app.db.is_postgres()).await;
    assert!(
        values
            .iter()
            .any(|(t, c, _)| t == "reset_tokens" && c == "token_hash"),
        "the tables were read"
    );
    for (what, secret) in secrets {
        assert!(secret.len() >= 8, "{what}: «{secret}»");
        for (table, column, value) in &values {
            assert!(
                !value.contains(secret),
                "{what} is stored in clear in {table}.{column}"
            );
        }
    }
    // What is kept instead: argon2 hashes of the passwords.
    let hashes: Vec<Option<String>> = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_all(&pool)
        .await
        .expect("hashes");
    assert!(
        hashes.iter().flatten().all(|h| h.starts_with("$argon2id$")),
        "{hashes:?}"
    );
}

/// A temporary password signs in once, and only within its ten minutes.
#[tokio::test]
async fn a_temporary_password_works_once_and_for_ten_minutes() {
    let p = Portal::start().await;
    let issue = |number: &'static str, phone: &'static str| {
        let mut b = p.browser();
        async move {
            b.post("/help", &[("number", number), ("phone", phone)])
                .await;
            let page = b.post("/help/send", &[("destination", "sms")]).await;
            assert!(page.body.contains("Sent to"), "{}", page.body);
        }
    };

    // C-1001: it works once; a second sign-in a moment later, well within its life, is refused.
    let issued = p.app.clock.now_ms();
    issue("C-1001", "3036582075").await;
    let text = p.twilio.wait_for(1).await;
    assert_eq!(text[0].field("ValidityPeriod"), Some("600"));
    let temp = temporary_password_in(text[0].field("Body").expect("body"));
    p.app.clock.set(issued + 60_000);
    let mut first = p.browser();
    assert_eq!(
        login(&mut first, "C-1001", &temp).await.location(),
        Some("/login/change")
    );
    p.app.clock.advance(Duration::from_secs(2));
    assert_refused(
        &login(&mut p.browser(), "C-1001", &temp).await,
        "a second sign-in with the same temporary password",
    );
    // The first sign-in still leads to the change.
    assert_eq!(
        first.get("/account").await.location(),
        Some("/login/change")
    );

    // C-1002: 1 ms before the ten minutes are up it still works.
    let issued = p.app.clock.now_ms();
    issue("C-1002", "303.555.0142").await;
    let texts = p.twilio.wait_for(2).await;
    let temp = temporary_password_in(texts[1].field("Body").expect("body"));
    p.app.clock.set(issued + 600_000 - 1);
    assert_eq!(
        login(&mut p.browser(), "C-1002", &temp).await.location(),
        Some("/login/change")
    );

    // C-1003: at ten minutes exactly it no longer works.
    let issued = p.app.clock.now_ms();
    issue("C-1003", "+1 303 555 0177").await;
    let texts = p.twilio.wait_for(3).await;
    let temp = temporary_password_in(texts[2].field("Body").expect("body"));
    p.app.clock.set(issued + 600_000);
    assert_refused(
        &login(&mut p.browser(), "C-1003", &temp).await,
        "the temporary password at ten minutes",
    );
}

/// Without "remember me" a session ends 12 hours after sign-in however active; with it, 30
/// days after.
#[tokio::test]
async fn sessions_end_after_twelve_hours_or_thirty_days_however_active() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut b = p.browser();
    let start = p.app.clock.now_ms();
    assert_eq!(
        login(&mut b, "C-1001", OLD).await.location(),
        Some("/account")
    );
    let twelve_hours = 12 * 3_600_000;
    // Active every 20 minutes, so the 30-minute idle limit never applies.
    while p.app.clock.now_ms() + 20 * 60_000 < start + twelve_hours {
        p.app.clock.advance(Duration::from_secs(20 * 60));
        assert_eq!(b.get("/account").await.status, 200);
    }
    p.app.clock.set(start + twelve_hours - 1);
    assert_eq!(b.get("/account").await.status, 200, "1 ms before");
    p.app.clock.set(start + twelve_hours);
    assert_eq!(
        b.get("/account").await.location(),
        Some("/login"),
        "at 12 hours"
    );

    let mut r = p.browser();
    let start = p.app.clock.now_ms();
    let page = r
        .post(
            "/login",
            &[("username", "C-1001"), ("password", OLD), ("remember", "1")],
        )
        .await;
    assert_eq!(page.location(), Some("/account"));
    let thirty_days = 30 * 24 * 3_600_000;
    // Used every day.
    while p.app.clock.now_ms() + 24 * 3_600_000 < start + thirty_days {
        p.app.clock.advance(Duration::from_secs(24 * 3600));
        assert_eq!(r.get("/account").await.status, 200);
    }
    p.app.clock.set(start + thirty_days - 1);
    assert_eq!(r.get("/account").await.status, 200, "1 ms before");
    p.app.clock.set(start + thirty_days);
    assert_eq!(
        r.get("/account").await.location(),
        Some("/login"),
        "at 30 days"
    );
}

/// Gives contractor `number` of `app`'s roster an account with `password` and the answer "rex"
/// to the first-pet question (shared by the portal and staff tests).
pub(crate) async fn give_password(app: &TestApp, number: &str, password: &str) -> AccountId {
    let st = &app.state;
    let id = contractors::by_number(st.store.pool(), number)
        .await
        .expect("read")
        .expect("on the roster")
        .id;
    let hash = st
        .hasher
        .hash(&SecretString::from(password.to_string()))
        .await
        .expect("hash");
    let answer = st
        .hasher
        .hash(&SecretString::from("rex".to_string()))
        .await
        .expect("hash");
    let now = st.clock.now_ms();
    let mut tx = st.store.begin_write().await.expect("tx");
    let account = accounts::ensure(&mut tx, id, now).await.expect("account");
    accounts::set_password(
        &mut tx,
        account.id,
        &hash,
        Some(("first_pet", &answer)),
        now,
    )
    .await
    .expect("set");
    tx.commit().await.expect("commit");
    account.id
}
