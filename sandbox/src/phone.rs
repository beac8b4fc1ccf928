//! The sandbox's stand-in for the Mobile BankID app: `GET /phone?autostarttoken=…` is the
//! page BankID would show on the phone, `POST /phone` approves, as the person entered, what
//! waits for that autostart token: a decoupled login (what the mock login API does for a
//! script) or a payment's BankID signing (only its owner can sign it). A page that shows a
//! BankID QR code links here so a person without a phone can sign.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::auth::{test_person, TEST_PERSONS};
use crate::oauth::{escape, page};
use crate::signing::{self, Found};
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
        "<p>This is the sandbox's Mobile BankID app. Identify as a test person to approve the login or payment that is waiting.</p>{err}\
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
    let done = match found {
        Some(order) => {
            order.person = Some(person.to_owned());
            "Identified. You can go back to the app now."
        }
        None => {
            drop(map);
            match signing::sign(&mut st.bank().state(), &f.autostarttoken, person) {
                Found::Done => "Signed. You can go back to the app now.",
                Found::NotYours => {
                    return phone_page(StatusCode::FORBIDDEN, &f.autostarttoken, Some("This payment belongs to another person."))
                }
                Found::None => {
                    return phone_page(
                        StatusCode::NOT_FOUND,
                        &f.autostarttoken,
                        Some("Nothing is waiting for this BankID (it may have timed out or been cancelled)."),
                    )
                }
            }
        }
    };
    let html = page("Mobile BankID (sandbox)", &format!("<p role=\"status\">{done}</p>"));
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}
