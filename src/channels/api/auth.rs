//! Who is calling the API: `Authorization: Bearer <token>`, a live token of an enabled staff
//! login. Every failure (no header, another scheme, an unknown or revoked token, a disabled
//! login) is the same 401 with `WWW-Authenticate: Bearer`, and counts against the caller's
//! address in the guard's flood filter: past it, 429. A good token is never charged, so a
//! busy script of the desk is not throttled by its own success. The token is never logged.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::AppState;
use crate::guard::Source;
use crate::staff::tokens;
use crate::store::staff::StaffMember;

/// The staff member a request's token belongs to.
#[derive(Debug, Clone)]
pub struct ApiStaff(pub StaffMember);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer);
        let member = match presented {
            Some(token) => tokens::authenticate(&st.store, &st.clock, token).await?,
            None => None,
        };
        if let Some(m) = member {
            return Ok(ApiStaff(m));
        }
        let ip = crate::channels::client_ip::of_request(parts, &st.settings.trusted_proxies);
        if !st.guard.allow_source(&Source::Ip(ip)) {
            return Err(ApiError::too_many());
        }
        Err(ApiError::unauthorized())
    }
}

/// The token of a `Bearer` credential (the scheme's case does not matter, RFC 9110).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn reads_a_bearer_credential_only() {
        assert_eq!(bearer("Bearer hlp_abc"), Some("hlp_abc"));
        assert_eq!(bearer("bearer   hlp_abc "), Some("hlp_abc"));
        assert_eq!(bearer("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("hlp_abc"), None);
    }
}
