//! `/openapi.json` (generated from the handlers' annotations) and `/docs`,
//! a readable reference page rendered by Scalar.

use axum::http::{HeaderValue, header};
use axum::response::Html;
use axum::{Router, routing::get};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa_scalar::Scalar;

use crate::state::AppState;

/// The docs page's script: Scalar's bundle, at the version
/// `scripts/docs-assets` pinned, embedded so that the page works offline.
const SCALAR_JS: &[u8] = include_bytes!("assets/scalar-api-reference.js");
const SCALAR_VERSION: &str = include_str!("assets/scalar-api-reference.version");

/// The docs page names no other origin: its script is ours, served from
/// this binary (Scalar adds its styles inline, and the page's fonts are the
/// system's). Everything else stays as locked down as the API.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
    connect-src 'self'; worker-src blob:; frame-ancestors 'none'";

/// Scalar's page, loading the script from here; `$spec` is the document
/// (a JSON data block, which no policy needs to allow), `$script` the
/// script's versioned path.
const DOCS_HTML: &str = r#"<!doctype html>
<html>
<head>
<title>$title</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<body>
<script id="api-reference" type="application/json" data-configuration='{"withDefaultFonts": false, "hideClientButton": true}'>
$spec
</script>
<script src="$script"></script>
</body>
</html>
"#;

/// Declares the two ways to authenticate (bearer token and session
/// cookie), and the error answers every operation can give, so that the
/// document lists every status a client can meet.
pub struct SecuritySchemes;

/// The error answers any operation may give, added where a handler's own
/// annotation does not list them.
fn add_common_errors(operation: &mut Operation) {
    let error = || {
        RefOr::T(
            Response::builder()
                .description("error")
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                )
                .build(),
        )
    };
    let mut statuses = vec![("429", "rate limited"), ("500", "internal error")];
    if operation.security.is_some() {
        statuses.push(("401", "not authenticated"));
    }
    if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        statuses.extend([("400", "malformed path"), ("422", "invalid parameter")]);
    }
    if operation.request_body.is_some() {
        statuses.extend([
            ("400", "malformed JSON"),
            ("413", "body over 64 KiB"),
            ("415", "body not JSON"),
            ("422", "invalid field"),
        ]);
    }
    for (status, _) in statuses {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(error);
    }
}

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common_errors(operation);
            }
        }
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

///
/// The document is encoded once, here, and the tree it came from dropped:
/// it is a few hundred KiB of small allocations that no request needs.
pub fn router(openapi: OpenApi) -> Router<AppState> {
    let json = axum::body::Bytes::from(openapi.to_json().expect("the OpenAPI document encodes"));
    // Versioned, so that it can be cached for good.
    let script = format!("/docs/scalar-api-reference-{SCALAR_VERSION}.js");
    let page = Html(
        Scalar::new(openapi)
            .custom_html(DOCS_HTML.replace("$script", &script))
            .title("Guildhall API")
            .to_html(),
    );
    let docs: Router<AppState> = Router::new()
        .route("/docs", get(move || async move { page }))
        .route(
            &script,
            get(|| async {
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/javascript; charset=utf-8"),
                        ),
                        (
                            header::CACHE_CONTROL,
                            HeaderValue::from_static("public, max-age=31536000, immutable"),
                        ),
                    ],
                    SCALAR_JS,
                )
            }),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        ));
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    json,
                )
            }),
        )
        .merge(docs)
}
