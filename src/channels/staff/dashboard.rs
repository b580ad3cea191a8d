//! The dashboard (`GET /staff/dashboard`): the city's figures as server-drawn SVG charts, each
//! followed by its numbers in a table; and the on-duty form (`POST /staff/duty`). Signed-in
//! staff only. The figures come from `staff::figures`, the drawing from `staff::chart`.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::extract::State;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::StatusCode;
use serde::Deserialize;

use super::pages::{Page, message, staff_form};
use super::web::{StaffVisitor, desk};
use crate::app::AppState;
use crate::staff::chart::{BarChart, bar_chart};
use crate::staff::figures::{
    self, AGE_BUCKETS, DAYS, Dashboard, HANDLED_DEFINITION, HELP_CHANNELS, duration_words,
};

#[derive(Template)]
#[template(path = "staff/dashboard.html")]
struct DashboardPage {
    title: String,
    problem: bool,
    who: Option<String>,
    csrf: String,
    notice: Option<String>,
    on_duty: bool,
    zone: String,
    empty: bool,
    days: usize,
    channel_names: Vec<&'static str>,
    /// (date, counts per channel, total, tickets, settled share in words).
    day_rows: Vec<(String, Vec<i64>, i64, i64, String)>,
    handled_definition: &'static str,
    open: i64,
    urgent: i64,
    oldest: String,
    age_rows: Vec<(&'static str, i64)>,
    resolved: usize,
    median: String,
    volume_chart: String,
    handled_chart: String,
    age_chart: String,
}

fn nonneg(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The three charts of `d`: volume per day by channel, the share settled without staff per
/// day, open tickets by age.
fn charts(d: &Dashboard) -> (String, String, String) {
    let names: Vec<&str> = HELP_CHANNELS.iter().map(|(_, n)| *n).collect();
    let label = |date: &jiff::civil::Date| format!("{:02}-{:02}", date.month(), date.day());
    let volume = bar_chart(&BarChart {
        id: "volume",
        title: &format!("Help conversations per day, last {DAYS} days"),
        desc: "Stacked bars: calls, texts, emails and kiosk visits started each day. The \
               numbers are in the table that follows.",
        series: &names,
        bars: d
            .days
            .iter()
            .map(|day| {
                (
                    label(&day.date),
                    day.started.iter().map(|n| nonneg(*n)).collect(),
                )
            })
            .collect(),
        unit: "",
    });
    let handled = bar_chart(&BarChart {
        id: "handled",
        title: "Share settled without staff, per day",
        desc: "One bar per day, in percent; a day without conversations has no bar. The \
               definition and the numbers are in the table that follows.",
        series: &["Settled without staff"],
        bars: d
            .days
            .iter()
            .map(|day| (label(&day.date), vec![day.handled_percent().unwrap_or(0)]))
            .collect(),
        unit: "%",
    });
    let age = bar_chart(&BarChart {
        id: "age",
        title: "Open tickets by age",
        desc: "One bar per age group of the tickets open now. The numbers are in the table \
               that follows.",
        series: &["Open tickets"],
        bars: AGE_BUCKETS
            .iter()
            .zip(d.queue.by_age)
            .map(|((name, _), n)| ((*name).to_string(), vec![nonneg(n)]))
            .collect(),
        unit: "",
    });
    (volume, handled, age)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DashboardQuery {
    done: String,
}

pub async fn dashboard_page(
    State(st): State<AppState>,
    v: StaffVisitor,
    query: Result<Query<DashboardQuery>, QueryRejection>,
) -> Page {
    let Some(me) = v.member.as_ref().map(|m| m.staff.clone()) else {
        return Ok(v.redirect("/staff/login"));
    };
    let zone = st.hours.zone(&st.settings);
    let d = figures::dashboard(st.store.pool(), &zone, st.clock.now_ms()).await?;
    let on_duty = desk(&st).is_on_duty(&me).await?;
    let (volume_chart, handled_chart, age_chart) = charts(&d);
    let now = st.clock.now_ms();
    let page = DashboardPage {
        title: "Dashboard".into(),
        problem: false,
        who: Some(me.name.clone()),
        csrf: v.csrf.clone(),
        notice: match query.map(|q| q.0.done).unwrap_or_default().as_str() {
            "on" => Some("You are on duty: urgent tickets will be emailed to you.".into()),
            "off" => Some("You are off duty: urgent tickets are no longer emailed to you.".into()),
            _ => None,
        },
        on_duty,
        zone: d.zone.clone(),
        empty: d.is_empty(),
        days: DAYS,
        channel_names: HELP_CHANNELS.iter().map(|(_, n)| *n).collect(),
        day_rows: d
            .days
            .iter()
            .map(|day| {
                (
                    day.date.to_string(),
                    day.started.to_vec(),
                    day.conversations(),
                    day.tickets,
                    day.handled_percent()
                        .map_or_else(|| "no conversations".into(), |p| format!("{p} %")),
                )
            })
            .collect(),
        handled_definition: HANDLED_DEFINITION,
        open: d.queue.open,
        urgent: d.queue.urgent,
        oldest: d
            .queue
            .oldest
            .map_or_else(|| "none open".into(), |at| duration_words(now - at)),
        age_rows: AGE_BUCKETS
            .iter()
            .zip(d.queue.by_age)
            .map(|((name, _), n)| (*name, n))
            .collect(),
        resolved: d.resolved,
        median: d
            .median_resolve
            .map_or_else(|| "no tickets resolved yet".into(), duration_words),
        volume_chart,
        handled_chart,
        age_chart,
    };
    Ok(v.render(StatusCode::OK, page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DutyForm {
    csrf: String,
    /// `on` or `off`.
    duty: String,
}

/// `POST /staff/duty`: the signed-in member goes on or off duty.
pub async fn duty(
    State(st): State<AppState>,
    v: StaffVisitor,
    form: Result<Form<DutyForm>, FormRejection>,
) -> Page {
    let f = staff_form!(v, form);
    let Some(me) = v.member.as_ref().map(|m| m.staff.clone()) else {
        return Ok(v.redirect("/staff/login"));
    };
    let on = match f.duty.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Ok(message(
                v,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose on duty or off duty.".into(),
            ));
        }
    };
    desk(&st).set_on_duty(&me, on).await?;
    Ok(v.redirect(if on {
        "/staff/dashboard?done=on"
    } else {
        "/staff/dashboard?done=off"
    }))
}
