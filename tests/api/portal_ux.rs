//! Where contractors got stuck in the portal pages, each written as the stumble: error pages
//! that looked like successes, bare 404/405 answers, password rules that left rules out, form
//! errors nobody was taken to, a kiosk that said "call" without a number, a silent account page
//! after the forced change, and a focus ring too faint to see.

use mail_parser::MessageParser;

use crate::common::browser::{Browser, Page};
use crate::portal::{GOOD, Portal, temporary_password_in};

/// What these tests add to the shared portal set-up.
trait AsContractor {
    /// A browser whose language is Spanish.
    fn spanish(&self) -> Browser;
    /// Signs C-1001 in with a temporary password texted from the kiosk; the browser is then
    /// at the forced change. Returns the temporary password.
    async fn at_forced_change(&self, b: &mut Browser) -> String;
}

impl AsContractor for Portal {
    fn spanish(&self) -> Browser {
        let mut b = self.browser();
        b.accept_language = Some("es-MX,es;q=0.9".into());
        b
    }

    async fn at_forced_change(&self, b: &mut Browser) -> String {
        b.post("/help", &[("number", "C-1001"), ("phone", "3036582075")])
            .await;
        b.post("/help/send", &[("destination", "sms")]).await;
        let sent = self.twilio.wait_for(1).await;
        let temp = temporary_password_in(sent[0].field("Body").expect("body"));
        let page = b
            .post("/login", &[("username", "C-1001"), ("password", &temp)])
            .await;
        assert_eq!(page.location(), Some("/login/change"));
        temp
    }
}

/// The text of the page's `<title>`.
fn title(page: &Page) -> &str {
    let start = page.body.find("<title>").expect("a title") + "<title>".len();
    let end = page.body[start..].find("</title>").expect("title ends") + start;
    &page.body[start..end]
}

/// The `<input>` tag of the field with this id.
fn input<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page
        .body
        .find(&format!("<input id=\"{id}\""))
        .unwrap_or_else(|| panic!("an input #{id}: {}", page.body));
    let end = page.body[start..].find('>').expect("tag ends") + start;
    &page.body[start..=end]
}

/// The error summary box, if the page has one.
fn summary(page: &Page) -> Option<&str> {
    let start = page.body.find("<div class=\"error-summary\"")?;
    let end = page.body[start..].find("</div>")? + start;
    Some(&page.body[start..end])
}

/// The page is drawn as a problem: an alert, "Error:" in the title, nothing styled success.
fn assert_problem_page(page: &Page, what: &str) {
    assert!(
        page.body.contains("class=\"alert\" role=\"alert\""),
        "{what}: {}",
        page.body
    );
    assert!(
        !page.body.contains("role=\"status\""),
        "{what}: {}",
        page.body
    );
    assert!(
        title(page).starts_with("Error: "),
        "{what}: {}",
        title(page)
    );
}

/// The portal's layout: header, skip link, stylesheet, language switch, footer.
fn assert_layout(page: &Page) {
    for part in [
        "<link rel=\"stylesheet\" href=\"/static/portal.css\">",
        "<a class=\"skip\" href=\"#main\">",
        "<main id=\"main\">",
        "href=\"?lang=es\"",
        "<footer>",
    ] {
        assert!(page.body.contains(part), "{part}: {}", page.body);
    }
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        page.header("content-type")
    );
    assert!(page.header("content-security-policy").is_some());
}

#[tokio::test]
async fn error_pages_are_alerts_not_green_success_notices() {
    let p = Portal::start().await;

    // A dead reset link (410).
    let mut b = p.browser();
    let page = b.get(&format!("/reset/{}", "ab".repeat(32))).await;
    assert_eq!(page.status, 410);
    assert_problem_page(&page, "410");
    assert!(title(&page).starts_with("Error: Link no longer valid"));

    // A form without its CSRF token (403), in Spanish too.
    let page = b
        .post_raw("/login", &[("username".into(), "C-1001".into())])
        .await;
    assert_eq!(page.status, 403);
    assert_problem_page(&page, "403");
    let page = p
        .spanish()
        .post_raw("/forgot", &[("username".into(), "C-1001".into())])
        .await;
    assert_eq!(page.status, 403);
    assert_problem_page(&page, "403 es");
    assert!(page.body.contains("Este formulario venció"));

    // A form that cannot be read at all (400).
    let res = crate::common::http()
        .post(p.app.url("/login"))
        .header("content-type", "text/plain")
        .body("username=C-1001")
        .send()
        .await
        .expect("post");
    let page = Page {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.expect("body"),
    };
    assert_eq!(page.status, 400);
    assert_problem_page(&page, "400");

    // The kiosk refusing to verify: an alert, focus on it, "Error:" in the title.
    let page = b
        .post("/help", &[("number", "C-1001"), ("phone", "3035550000")])
        .await;
    assert!(page.body.contains("We could not verify those details"));
    let refusal = summary(&page).expect("a refusal summary");
    assert!(refusal.contains("role=\"alert\"") && refusal.contains("autofocus"));
    assert!(
        title(&page).starts_with("Error: I can&#39;t log in"),
        "{}",
        title(&page)
    );
    assert!(!page.body.contains("role=\"status\""));

    // A successful step keeps the green status and no "Error:".
    let page = b.post("/forgot", &[("username", "C-1001")]).await;
    let page = b.get(page.location().expect("redirect")).await;
    assert!(page.body.contains("class=\"notice\" role=\"status\""));
    assert!(!page.body.contains("role=\"alert\""));
    assert!(!title(&page).starts_with("Error"));

    // The database is out of reach: a 503 "try again", never "signed out" or "link expired".
    p.with_password("C-1001", crate::portal::OLD).await;
    let mut signed = p.browser();
    crate::portal::login(&mut signed, "C-1001", crate::portal::OLD).await;
    let mut b = p.browser();
    b.csrf().await;
    p.app.state.store.pool().close().await;
    let page = b.post("/forgot", &[("username", "C-1001")]).await;
    assert_eq!(page.status, 503);
    assert_problem_page(&page, "503");
    assert!(
        page.body.contains("unavailable for a moment"),
        "{}",
        page.body
    );
    let page = signed.get("/account").await;
    assert_eq!(
        page.status,
        503,
        "not a redirect to sign in: {:?}",
        page.location()
    );
    assert!(
        signed.cookies.contains_key("helpline_session"),
        "the session cookie is kept while the database is away"
    );

    // Every page's failure is drawn in one place, in the language the request asked for.
    let link = format!("/reset/{}", "a".repeat(64));
    let page = p.spanish().get(&link).await;
    assert_eq!(page.status, 503, "not \"link expired\": {}", page.body);
    assert!(page.body.contains("<html lang=\"es\">"), "{}", page.body);
    assert!(page.body.contains("no está disponible por un momento"));
    assert_problem_page(&page, "503 es");
    // A registration draft the store cannot give back is a 503, not an empty form.
    let mut drafted = p.browser();
    drafted
        .cookies
        .insert("helpline_draft".into(), "b".repeat(64));
    let page = drafted.get("/register").await;
    assert_eq!(page.status, 503, "{}", page.body);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_the_portal_page_in_both_languages() {
    let p = Portal::start().await;

    let page = p.spanish().get("/nope").await;
    assert_eq!(page.status, 404);
    assert_layout(&page);
    assert!(page.body.contains("<html lang=\"es\">"), "{}", page.body);
    assert!(page.body.contains("<h1>Página no encontrada</h1>"));
    assert!(page.body.contains("href=\"/login\"") && page.body.contains("href=\"/help\""));
    assert_problem_page(&page, "404 es");

    let page = p.browser().get("/no/such/page?lang=es").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Página no encontrada"), "?lang wins");

    let page = p.browser().get("/static/nothing.css").await;
    assert_eq!(page.status, 404);
    assert!(
        page.body.contains("<h1>Page not found</h1>"),
        "{}",
        page.body
    );
    assert_layout(&page);

    // A known page asked the wrong way: 405, the layout, and the methods it does take.
    let page = p.browser().post_raw("/account", &[]).await;
    assert_eq!(page.status, 405);
    assert_layout(&page);
    assert!(
        page.body
            .contains("<h1>This page cannot be used that way</h1>"),
        "{}",
        page.body
    );
    let allow = page.header("allow").expect("an Allow header");
    assert!(allow.contains("GET") && !allow.contains("POST"), "{allow}");
    assert_problem_page(&page, "405");
    let page = p.spanish().post_raw("/help/send", &[]).await;
    assert_eq!(
        page.status, 403,
        "a known POST route still checks its token"
    );
    let res = crate::common::http()
        .delete(p.app.url("/login"))
        .header("accept-language", "es")
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 405);
    assert!(
        res.headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("GET") && a.contains("POST"))
    );
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("Esta página no se puede usar así")
    );

    // The operations endpoints answer as before.
    let client = crate::common::http();
    let health = client.get(p.app.url("/healthz")).send().await.expect("get");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.expect("body"), "ok\n");
    let ready = client.get(p.app.url("/readyz")).send().await.expect("get");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.expect("body"), "ready\n");
    let metrics = client.get(p.app.url("/metrics")).send().await.expect("get");
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/openmetrics-text"))
    );
    assert!(metrics.text().await.expect("body").contains("# EOF"));
}

/// `q=0` in Accept-Language says "not this one": a browser that refuses Spanish is not served
/// Spanish, even when Spanish is the only supported language it names.
#[tokio::test]
async fn a_language_the_browser_refuses_is_not_chosen() {
    let p = Portal::start().await;
    for (header, lang) in [
        ("es;q=0, en;q=0.5", "en"),
        ("es-MX;q=0, fr", "en"),
        ("en;q=0, es;q=0.2", "es"),
    ] {
        let mut b = p.browser();
        b.accept_language = Some(header.into());
        let page = b.get("/login").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(&format!("<html lang=\"{lang}\">")),
            "{header} -> {lang}"
        );
    }
}

#[tokio::test]
async fn a_refused_sign_in_keeps_the_username_and_takes_focus_to_the_reason() {
    let p = Portal::start().await;
    let mut b = p.browser();
    let page = b
        .post(
            "/login",
            &[("username", "C-1001"), ("password", "Wr0ng-Guess!")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        title(&page).starts_with("Error: Sign in"),
        "{}",
        title(&page)
    );
    let reason = summary(&page).expect("an error summary");
    for part in [
        "role=\"alert\"",
        "tabindex=\"-1\"",
        "autofocus",
        "<h2",
        "There is a problem",
        "The username or password is not correct",
    ] {
        assert!(reason.contains(part), "{part}: {reason}");
    }
    assert!(
        input(&page, "username").contains("value=\"C-1001\""),
        "{}",
        input(&page, "username")
    );
    assert!(input(&page, "password").contains("value=\"\""));
    assert!(!page.body.contains("Wr0ng-Guess!"), "never the password");
    // Typed text comes back escaped.
    let page = b
        .post("/login", &[("username", "\"><b>x"), ("password", "x")])
        .await;
    assert!(
        input(&page, "username").contains("value=\"&#34;&#62;&#60;b&#62;x\""),
        "{}",
        input(&page, "username")
    );

    let mut es = p.spanish();
    let page = es
        .post(
            "/login",
            &[("username", "C-1001"), ("password", "Wr0ng-Guess!")],
        )
        .await;
    assert!(
        title(&page).starts_with("Error: Iniciar sesión"),
        "{}",
        title(&page)
    );
    assert!(summary(&page).expect("summary").contains("Hay un problema"));

    // Before any attempt: no summary, no "Error:".
    let page = p.browser().get("/login").await;
    assert!(summary(&page).is_none());
    assert!(title(&page).starts_with("Sign in"));
    assert!(input(&page, "username").contains("value=\"\""));
}

#[tokio::test]
async fn form_errors_are_summarised_at_the_top_with_links_to_each_field() {
    let p = Portal::start().await;

    // Setup an Account.
    let mut b = p.browser();
    let page = b
        .post(
            "/register",
            &[
                ("license_number", ""),
                ("business_name", "Acme"),
                ("contact_name", "Jo Doe"),
                ("phone", "555-12"),
                ("email", "nope"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/register"));
    let page = b.get("/register").await;
    assert!(
        title(&page).starts_with("Error: Setup an Account"),
        "{}",
        title(&page)
    );
    let s = summary(&page).expect("an error summary");
    assert!(
        s.contains("role=\"alert\"") && s.contains("tabindex=\"-1\"") && s.contains("autofocus")
    );
    for link in [
        "<a href=\"#license_number\">License number: This field is required.</a>",
        "<a href=\"#phone\">Phone: Enter a 10-digit phone number",
        "<a href=\"#email\">Email: Enter an email address",
        "<a href=\"#password\">Password: Must be at least 6 characters.",
        "<a href=\"#question\">Security question: This field is required.</a>",
    ] {
        assert!(s.contains(link), "{link}: {s}");
    }
    assert!(!s.contains("#business_name"), "only fields in error: {s}");
    // Every link leads to a field on the page.
    for target in s.split("href=\"#").skip(1) {
        let id = target.split('"').next().expect("id");
        assert!(page.body.contains(&format!("id=\"{id}\"")), "#{id}");
    }
    // The summary comes before the form.
    assert!(page.body.find("error-summary") < page.body.find("<form"));

    // In Spanish.
    let mut es = p.spanish();
    es.post("/register", &[("license_number", ""), ("phone", "1")])
        .await;
    let page = es.get("/register").await;
    assert!(
        title(&page).starts_with("Error: Crear una cuenta"),
        "{}",
        title(&page)
    );
    assert!(summary(&page).expect("summary").contains(
        "<a href=\"#license_number\">Número de licencia: Este campo es obligatorio.</a>"
    ));

    // Require Login Change.
    let mut b = p.browser();
    p.at_forced_change(&mut b).await;
    let page = b
        .post(
            "/login/change",
            &[
                ("password", "abc"),
                ("confirm", "abd"),
                ("question", "first_pet"),
                ("answer", "Rex"),
                ("answer_again", "Rex"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(title(&page).starts_with("Error: Require Login Change"));
    let s = summary(&page).expect("an error summary");
    assert!(s.contains("<a href=\"#password\">New password: "), "{s}");
    assert!(
        s.contains(
            "<a href=\"#confirm\">Confirm new password: The two passwords do not match.</a>"
        ),
        "{s}"
    );

    // The reset link's page.
    p.browser().get("/login").await;
    let mut r = p.browser();
    r.post("/forgot", &[("username", "C-1001")]).await;
    // (After the email that told of the temporary password.)
    let mails = p.smtp.wait_for(2).await;
    let mail = mails
        .iter()
        .find(|m| text_of_mail(&m.data).contains("/reset/"))
        .expect("the reset link");
    let text = MessageParser::default()
        .parse(&mail.data)
        .expect("parse")
        .body_text(0)
        .expect("text")
        .into_owned();
    let at = text.find("/reset/").expect("a link") + "/reset/".len();
    let token = &text[at..at + 64];
    r.get(&format!("/reset/{token}")).await;
    let page = r
        .post(
            "/reset",
            &[("password", "Westminster9!"), ("confirm", "Westminster9!")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(title(&page).starts_with("Error: Choose a new password"));
    assert!(
        summary(&page)
            .expect("summary")
            .contains("<a href=\"#password\">New password: Must not contain the city")
    );

    // Forgot and kiosk pages have no summary until something goes wrong.
    for path in ["/forgot", "/help", "/register"] {
        let page = p.browser().get(path).await;
        assert!(summary(&page).is_none(), "{path}");
        assert!(
            !title(&page).starts_with("Error"),
            "{path}: {}",
            title(&page)
        );
    }
}

#[tokio::test]
async fn the_password_rules_name_every_rule_and_belong_to_the_field() {
    let p = Portal::start().await;
    let page = p.browser().get("/register").await;
    let start = page.body.find("id=\"password-rules\"").expect("rules");
    let rules = &page.body[start..start + page.body[start..].find("</div>").expect("end")];
    for rule in [
        "6 to 25 characters",
        "one digit, one lower case letter, one upper case letter and one special character",
        "common password",
        "your username",
        "license number",
        "the city&#39;s name (Westminster)",
    ] {
        assert!(rules.contains(rule), "{rule}: {rules}");
    }
    assert!(
        !rules.contains("temporary"),
        "no temporary password at registration"
    );
    assert!(
        input(&page, "password").contains("aria-describedby=\"password-rules\""),
        "{}",
        input(&page, "password")
    );
    assert!(!input(&page, "confirm").contains("password-rules"));

    // With errors the field points at both the rules and its messages (registration errors
    // come back through a redirect).
    let mut b = p.browser();
    let page = b.post("/register", &[("password", "abc")]).await;
    assert_eq!(page.location(), Some("/register"));
    let page = b.get("/register").await;
    assert!(
        input(&page, "password").contains("aria-describedby=\"password-rules password-error\""),
        "{}",
        input(&page, "password")
    );
    assert!(page.body.contains("id=\"password-error\""));

    // In Spanish.
    let page = p.spanish().get("/register").await;
    let start = page.body.find("id=\"password-rules\"").expect("rules");
    let rules = &page.body[start..start + page.body[start..].find("</div>").expect("end")];
    for rule in [
        "de 6 a 25 caracteres",
        "contraseña común",
        "su usuario",
        "número de licencia",
        "el nombre de la ciudad (Westminster)",
    ] {
        assert!(rules.contains(rule), "{rule}: {rules}");
    }

    // At the forced change the temporary password is named too.
    let mut b = p.browser();
    p.at_forced_change(&mut b).await;
    let page = b.get("/login/change").await;
    assert!(
        page.body
            .contains("be the temporary password you signed in with")
    );
    assert!(input(&page, "password").contains("aria-describedby=\"password-rules\""));
}

#[tokio::test]
async fn the_kiosk_says_which_number_to_call_and_when() {
    let p = Portal::start_with(|s| {
        s.staff_phone = Some("+13035550199".into());
        s.staff_office_hours = Some("Monday–Friday 8 am–5 pm".into());
    })
    .await;
    let mut b = p.browser();
    let page = b.get("/help").await;
    let call = "<a href=\"tel:+13035550199\" class=\"tel\">(303) 555-0199</a>";
    assert!(page.body.contains(call), "{}", page.body);
    assert!(page.body.contains("Monday–Friday 8 am–5 pm"));
    assert!(!page.body.contains("during office hours."));

    let page = b
        .post("/help", &[("number", "C-7777"), ("phone", "3036582075")])
        .await;
    let refusal = summary(&page).expect("a refusal");
    assert!(refusal.contains(call), "{refusal}");
    assert_eq!(
        page.body.matches(call).count(),
        1,
        "said once, in the refusal"
    );
    assert!(refusal.contains("Monday–Friday 8 am–5 pm"));

    let page = p.spanish().get("/help").await;
    assert!(
        page.body
            .contains("También puede llamar a la División de Construcción al")
    );
    assert!(page.body.contains(call));

    // Nothing configured: a general sentence, no empty link.
    let plain = Portal::start().await;
    let page = plain.browser().get("/help").await;
    assert!(
        page.body
            .contains("You can also call the Building Division during office hours.")
    );
    assert!(!page.body.contains("tel:"));
    // Only hours configured.
    let hours = Portal::start_with(|s| s.staff_office_hours = Some("Mon–Fri 7–4".into())).await;
    let page = hours.browser().get("/help").await;
    assert!(
        page.body
            .contains("during office hours: <span class=\"hours\">Mon–Fri 7–4</span>."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_kiosk_says_structured_hours_in_the_page_language() {
    use helpline::domain::office_hours::{CityZone, OfficeHours, WeeklyHours};
    let p = Portal::start_with(|s| {
        s.staff_phone = Some("+13035550199".into());
        s.staff_hours = Some(OfficeHours {
            zone: CityZone::parse("America/Denver").expect("zone"),
            weekly: WeeklyHours::parse("Mon-Fri 07:30-16:00").expect("hours"),
            holidays: Default::default(),
        });
    })
    .await;
    let page = p.browser().get("/help").await;
    assert!(
        page.body
            .contains("<span class=\"hours\">(Monday to Friday, 7:30 am to 4 pm)</span>"),
        "{}",
        page.body
    );
    let page = p.spanish().get("/help").await;
    assert!(
        page.body
            .contains("<span class=\"hours\">(lunes a viernes, de 7:30 a 16:00)</span>"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn after_the_forced_change_the_account_page_says_the_password_is_saved() {
    let p = Portal::start().await;
    let mut b = p.browser();
    p.at_forced_change(&mut b).await;
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
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), Some("/account?changed=1"));
    let page = b.get("/account?changed=1").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<p class=\"notice\" role=\"status\">Your new password is saved.</p>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("role=\"alert\""));
    let page = b.get("/account?changed=1&lang=es").await;
    assert!(page.body.contains("Su nueva contraseña quedó guardada."));
    let page = b.get("/account").await;
    assert!(
        !page.body.contains("role=\"status\""),
        "only right after the change"
    );
    // The long email on record can break: the list is the one that wraps.
    assert!(page.body.contains("<dl class=\"record\">"));
}

#[tokio::test]
async fn the_stylesheet_has_a_visible_focus_ring_and_does_not_scroll_sideways() {
    let p = Portal::start().await;
    let css = p.browser().get("/static/portal.css").await.body;
    let focus = css
        .lines()
        .find(|l| l.contains(":focus") && l.contains("outline:") && l.contains("button"))
        .expect("a focus rule");
    assert!(
        !focus.contains("#f9a825"),
        "the 1.97:1 ring is gone: {focus}"
    );
    assert!(
        focus.contains("outline: 3px solid var(--focus-dark)")
            && focus.contains("box-shadow: 0 0 0 3px var(--focus-light)"),
        "{focus}"
    );
    assert!(css.contains("--focus-dark: #0b0c0c") && css.contains("--focus-light: #ffdd00"));
    for ratio in ["19.59:1", "6.24:1", "14.55:1"] {
        assert!(css.contains(ratio), "the measured ratio {ratio} is stated");
    }
    // Reflow at 320 px: long values break, fieldsets may shrink, the record list goes to one
    // column on narrow screens.
    assert!(css.contains("overflow-wrap: anywhere"));
    assert!(css.contains("min-width: 0"));
    assert!(css.contains(
        "@media (max-width: 30rem) { dl.record { grid-template-columns: minmax(0, 1fr);"
    ));
    assert!(
        !css.contains("[role=status]"),
        "success style by class, not by role"
    );
}

fn text_of_mail(data: &[u8]) -> String {
    MessageParser::default()
        .parse(data)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}
