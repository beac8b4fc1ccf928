//! The sandbox's stand-in for the Mobile BankID app: `GET /phone?autostarttoken=…` is the
//! page BankID would show on the phone, `POST /phone` signs the decoupled authorization with
//! that autostart token as the person entered (what the mock login API does for a script).
//! A page that shows a BankID QR code links here so a person without a phone can sign.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::auth::{test_person, TEST_PERSONS};
use crate::oauth::{escape, page};
use crate::state::SandboxState;

/// `/phone`.
pub fn router() -> Router<SandboxState> {
    Router::new().route("/phone", get(show).post(sign))
}

#[derive(Deserialize)]
struct Shown {
    #[serde(default)]
    autostarttoken: String,
}

#[derive(Deserialize)]
struct Signed {
    #[serde(default)]
    autostarttoken: String,
    #[serde(default)]
    personal_identity_number: String,
}

fn phone_page(status: StatusCode, token: &str, error: Option<&str>) -> Response {
    let err = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let persons: String = TEST_PERSONS.iter().map(|p| format!("<li><code>{p}</code></li>")).collect();
    let body = format!(
        "<p>This is the sandbox's Mobile BankID app. Sign in as a test person to approve the login that is waiting.</p>{err}\
<form method=\"post\" action=\"/phone\"><input type=\"hidden\" name=\"autostarttoken\" value=\"{t}\">\
<label for=\"pin\">Sandbox identity number</label>\
<input type=\"text\" id=\"pin\" name=\"personal_identity_number\" inputmode=\"numeric\" autocomplete=\"off\" autofocus>\
<button type=\"submit\">Identify</button></form><p>Test persons:</p><ul>{persons}</ul>",
        t = escape(token),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(page("Mobile BankID (sandbox)", &body))).into_response()
}

async fn show(Query(q): Query<Shown>) -> Response {
    phone_page(StatusCode::OK, &q.autostarttoken, None)
}

async fn sign(State(st): State<SandboxState>, Form(f): Form<Signed>) -> Response {
    let Some(person) = test_person(&f.personal_identity_number) else {
        return phone_page(StatusCode::UNPROCESSABLE_ENTITY, &f.autostarttoken, Some("That is not a sandbox test person."));
    };
    let mut map = st.decoupled();
    let found = map.values_mut().find(|a| a.is_waiting() && a.autostart_token == f.autostarttoken);
    let Some(order) = found else {
        drop(map);
        return phone_page(
            StatusCode::NOT_FOUND,
            &f.autostarttoken,
            Some("No login is waiting for this BankID (it may have timed out or been cancelled)."),
        );
    };
    order.person = Some(person.to_owned());
    drop(map);
    let html = page("Mobile BankID (sandbox)", "<p role=\"status\">Identified. You can go back to the app now.</p>");
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}
