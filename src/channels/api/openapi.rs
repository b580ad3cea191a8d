//! The API's OpenAPI document, made by utoipa from the handlers' own `#[utoipa::path]`
//! attributes and the response types' `ToSchema` derives, so the document is written next to
//! the code it describes; tests/api/staff_api.rs checks it against the routes and against
//! real answers.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ErrorBody, ErrorDetail};
use super::tickets::{self, Holder, TicketList, TicketSummary};
use super::work::{self, NoteRequest, ResolveRequest};
use crate::staff::{
    ContractorOnRecord, EntryKind, MessageView, OtherTicket, Resolution, TicketView, TimelineEntry,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Helpline staff API",
        description = "The staff escalation queue as JSON. Every route but this document needs \
                       `Authorization: Bearer <token>`, a token made with \
                       `helpline staff token EMAIL`. Errors are \
                       `{\"error\":{\"code\":\"…\",\"message\":\"…\"}}`."
    ),
    paths(
        tickets::list,
        work::get_ticket,
        tickets::claim,
        work::add_note,
        work::resolve,
        openapi_json
    ),
    components(schemas(
        TicketList,
        TicketSummary,
        Holder,
        TicketView,
        ContractorOnRecord,
        TimelineEntry,
        EntryKind,
        MessageView,
        OtherTicket,
        NoteRequest,
        ResolveRequest,
        Resolution,
        ErrorBody,
        ErrorDetail
    )),
    modifiers(&BearerToken),
    tags((name = "tickets", description = "The escalation queue"))
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// This document (no token needed).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
