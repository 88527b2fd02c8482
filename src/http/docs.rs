//! `/openapi.json` (generated from the handlers' annotations) and `/docs`,
//! a readable reference page rendered by Scalar.

use axum::http::{HeaderValue, header};
use axum::response::Html;
use axum::{Json, Router, routing::get};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa_scalar::Scalar;

use crate::state::AppState;

/// The docs page loads Scalar's script and styles from its CDN; everything
/// else stays as locked down as the API.
const DOCS_CSP: &str = "default-src 'none'; script-src https://cdn.jsdelivr.net; \
    style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; \
    font-src https: data:; img-src 'self' data: https:; connect-src 'self'; \
    worker-src blob:; frame-ancestors 'none'";

/// Declares the two ways to authenticate: bearer token and session cookie.
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

pub fn router(openapi: OpenApi) -> Router<AppState> {
    let page = Html(
        Scalar::new(openapi.clone())
            .title("Guildhall API")
            .to_html(),
    );
    let docs: Router<AppState> = Router::new()
        .route("/docs", get(move || async move { page }))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        ));
    Router::new()
        .route("/openapi.json", get(move || async move { Json(openapi) }))
        .merge(docs)
}
