//! Golden tests: every saved example of SEB's Postman collections that belongs to the
//! APIs modelled by `valv-psd2` parses into the model, and serialising it back gives the
//! same JSON (compared as `serde_json::Value`: every member, every string and number kept).
//!
//! Covered: example responses (by request method + path and status), the example requests'
//! JSON bodies, the collections' own request bodies, and the form bodies of the OAuth token
//! requests. The collections are vendored in `tests/fixtures/seb/` (Apache-2.0).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use valv_psd2::{
    AccountDetails, AccountList, AuthV3Error, Authorisation, AuthorisationList, BalancesResponse, DecoupledAuthorizationCreated,
    DecoupledAuthorizationRequest, DecoupledAuthorizationStatus, DecoupledTokenRequest, FundsConfirmationRequest,
    FundsConfirmationResponse, MockLoginRequest, OAuthError, PaymentCancellationResponse, PaymentInitiation, PaymentInitiationResponse,
    PaymentStatusResponse, PaymentTemplate, Problem, ResetResponse, SigningBasket, SigningBasketRequest, StartAuthorisationRequest,
    TemplateList, TokenRequest, TokenResponse, TransactionDetails, TransactionsResponse,
};

/// Example responses that must be checked. Measured: the collections hold 138 saved
/// examples; 118 have a JSON body and all map to the model, 20 have an empty body
/// (503s and one 204) and are skipped by name. Lower this only with a reason.
const MIN_RESPONSES_CHECKED: usize = 118;

/// Request bodies that must be checked (the examples' requests, the collections' own
/// requests and the token requests' form bodies). Measured: 65.
const MIN_REQUEST_BODIES_CHECKED: usize = 65;

/// Examples that cannot be modelled, each with the reason. An entry is
/// `(collection file, item path, example name prefix, reason)`.
///
/// Empty: every JSON example of the collections is modelled. An entry that matches nothing
/// fails the test, so this list cannot go stale.
const EXCLUDED: &[(&str, &str, &str, &str)] = &[];

/// A function that parses a body into a model type and serialises it back.
type RoundTrip = fn(&str) -> Result<Value, String>;

fn round_trip<T: DeserializeOwned + Serialize>(body: &str) -> Result<Value, String> {
    let parsed: T = serde_json::from_str(body).map_err(|e| format!("does not parse: {e}"))?;
    serde_json::to_value(&parsed).map_err(|e| format!("does not serialise: {e}"))
}

/// The model of a body, with its name for messages.
#[derive(Clone, Copy)]
struct Model {
    name: &'static str,
    check: RoundTrip,
}

macro_rules! model {
    ($t:ty) => {
        Model { name: stringify!($t), check: round_trip::<$t> }
    };
}

/// The endpoints the model covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    OAuthToken,
    DecoupledStart,
    DecoupledStatus,
    DecoupledToken,
    MockLogin,
    Accounts,
    Account,
    Balances,
    Transactions,
    TransactionDetails,
    Templates,
    Template,
    PaymentInitiate,
    PaymentGet,
    PaymentStatus,
    PaymentCancel,
    AuthorisationList,
    AuthorisationStart,
    AuthorisationGet,
    BasketCreate,
    BasketGet,
    FundsConfirmation,
    MockReset,
}

impl Route {
    /// The model of a response with this status.
    fn response_model(self, status: u16) -> Option<Model> {
        let ok = (200..300).contains(&status);
        Some(match self {
            Route::OAuthToken if ok => model!(TokenResponse),
            Route::OAuthToken => model!(OAuthError),
            Route::DecoupledStart if ok => model!(DecoupledAuthorizationCreated),
            Route::DecoupledStatus if ok => model!(DecoupledAuthorizationStatus),
            Route::DecoupledToken if ok => model!(TokenResponse),
            // SEB's example of a 400 from /auth/v3/tokens is an RFC 6749 error body;
            // every other auth v3 error is the {"detail","title","status","type"} shape.
            Route::DecoupledToken if status == 400 => model!(OAuthError),
            Route::MockLogin if ok => return None, // 204, no body
            Route::DecoupledStart | Route::DecoupledStatus | Route::DecoupledToken | Route::MockLogin => {
                model!(AuthV3Error)
            }
            _ if !ok => model!(Problem),
            Route::Accounts => model!(AccountList),
            Route::Account => model!(AccountDetails),
            Route::Balances => model!(BalancesResponse),
            Route::Transactions => model!(TransactionsResponse),
            Route::TransactionDetails => model!(TransactionDetails),
            Route::Templates => model!(TemplateList),
            Route::Template => model!(PaymentTemplate),
            Route::PaymentInitiate => model!(PaymentInitiationResponse),
            Route::PaymentGet => model!(PaymentInitiation),
            Route::PaymentStatus => model!(PaymentStatusResponse),
            Route::PaymentCancel => model!(PaymentCancellationResponse),
            Route::AuthorisationList => model!(AuthorisationList),
            Route::AuthorisationStart | Route::AuthorisationGet => model!(Authorisation),
            Route::BasketCreate | Route::BasketGet => model!(SigningBasket),
            Route::FundsConfirmation => model!(FundsConfirmationResponse),
            Route::MockReset => model!(ResetResponse),
        })
    }

    /// The model of a JSON request body sent to this endpoint.
    fn request_model(self) -> Option<Model> {
        Some(match self {
            Route::OAuthToken => model!(TokenRequest),
            Route::DecoupledStart => model!(DecoupledAuthorizationRequest),
            Route::DecoupledToken => model!(DecoupledTokenRequest),
            Route::MockLogin => model!(MockLoginRequest),
            Route::PaymentInitiate => model!(PaymentInitiation),
            Route::AuthorisationStart => model!(StartAuthorisationRequest),
            Route::BasketCreate => model!(SigningBasketRequest),
            Route::FundsConfirmation => model!(FundsConfirmationRequest),
            _ => return None,
        })
    }
}

/// Path segments of a Postman URL, without scheme, host, `{{variable}}` base prefixes,
/// query, and the API base paths (`/ais/v7/identified2`, `/auth/v3`, …).
fn path_segments(url: &Value) -> Vec<String> {
    let raw = match url {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("raw").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    let no_query = raw.split('?').next().unwrap_or("");
    let no_scheme = match no_query.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => no_query,
    };
    let mut segs: Vec<String> = no_scheme.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    // A leading `{{baseUrl}}`-style variable stands for scheme, host and base path.
    if segs.first().is_some_and(|s| s.starts_with("{{") && s.ends_with("}}") && s.matches("{{").count() == 1) {
        let first = segs.remove(0);
        // `{{tokenUri}}` is the OAuth token endpoint itself.
        if first == "{{tokenUri}}" {
            return vec!["oauth20".into(), "token".into()];
        }
    }
    for base in
        [&["ais", "v7", "identified2"][..], &["pis", "v7", "identified2"][..], &["cof", "v7", "identified2"][..], &["auth", "v3"][..]]
    {
        if segs.len() >= base.len() && segs.iter().zip(base).all(|(a, b)| a == b) {
            segs.drain(..base.len());
            break;
        }
    }
    segs
}

fn is_param(s: &str) -> bool {
    s.starts_with(':') || (s.starts_with("{{") && s.ends_with("}}"))
}

fn route(method: &str, url: &Value) -> Option<Route> {
    let segs = path_segments(url);
    let s: Vec<&str> = segs.iter().map(|s| if is_param(s) { "*" } else { s.as_str() }).collect();
    let payments = |seg: &str| seg == "payments" || seg == "periodic-payments";
    Some(match (method, s.as_slice()) {
        ("POST", [.., "oauth20", "token"]) => Route::OAuthToken,
        ("POST", ["authorizations"]) => Route::DecoupledStart,
        ("GET", ["authorizations", _]) => Route::DecoupledStatus,
        ("POST", ["tokens"]) => Route::DecoupledToken,
        ("POST", ["open", "sb", "auth", "mock", "v1", "login"]) => Route::MockLogin,
        ("GET", ["accounts"]) => Route::Accounts,
        ("GET", ["accounts", _]) => Route::Account,
        ("GET", ["accounts", _, "balances"]) => Route::Balances,
        ("GET", ["accounts", _, "transactions"]) => Route::Transactions,
        ("GET", ["accounts", _, "transactions", _]) => Route::TransactionDetails,
        ("GET", ["templates"]) => Route::Templates,
        ("GET", ["templates", _]) => Route::Template,
        ("PATCH", ["payments", "mock", "resetall"]) => Route::MockReset,
        ("POST", [p, _]) if payments(p) => Route::PaymentInitiate,
        ("GET", [p, _, _]) if payments(p) => Route::PaymentGet,
        ("DELETE", [p, _, _]) if payments(p) => Route::PaymentCancel,
        ("GET", [p, _, _, "status"]) if payments(p) => Route::PaymentStatus,
        ("GET", [p, _, _, "authorisations"]) if payments(p) => Route::AuthorisationList,
        ("POST", [p, _, _, "authorisations"]) if payments(p) => Route::AuthorisationStart,
        ("GET", [p, _, _, "authorisations", _]) if payments(p) => Route::AuthorisationGet,
        ("POST", ["signing-baskets"]) => Route::BasketCreate,
        ("GET", ["signing-baskets", _]) => Route::BasketGet,
        ("GET", ["signing-baskets", _, "authorisations"]) => Route::AuthorisationList,
        ("POST", ["signing-baskets", _, "authorisations"]) => Route::AuthorisationStart,
        ("GET", ["signing-baskets", _, "authorisations", _]) => Route::AuthorisationGet,
        ("POST", ["funds-confirmations"]) => Route::FundsConfirmation,
        _ => return None,
    })
}

/// Where a checked body came from, for messages.
struct Origin<'a> {
    collection: &'a str,
    item: &'a str,
    what: String,
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] item \"{}\", {}", self.collection, self.item, self.what)
    }
}

#[derive(Default)]
struct Report {
    responses_checked: usize,
    requests_checked: usize,
    per_model: BTreeMap<&'static str, usize>,
    skipped: Vec<String>,
    excluded_hits: Vec<usize>,
    failures: Vec<String>,
}

impl Report {
    /// Parses `body` with `model`, serialises it back and compares with the original.
    fn check(&mut self, origin: &Origin<'_>, model: Model, body: &str) {
        let original: Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => {
                self.failures.push(format!("{origin}: body is not JSON ({e})"));
                return;
            }
        };
        match (model.check)(body) {
            Ok(back) if back == original => {
                *self.per_model.entry(model.name).or_default() += 1;
            }
            Ok(back) => self
                .failures
                .push(format!("{origin}: {} changed the data on a round trip\n    original: {original}\n    back:     {back}", model.name)),
            Err(e) => self.failures.push(format!("{origin}: {} {e}", model.name)),
        }
    }

    fn excluded(&mut self, collection: &str, item: &str, example: &str) -> bool {
        for (i, (c, it, ex, _)) in EXCLUDED.iter().enumerate() {
            if *c == collection && *it == item && example.starts_with(ex) {
                self.excluded_hits.push(i);
                return true;
            }
        }
        false
    }
}

/// A JSON request body (`mode: raw`), or the key/values of a form body as a JSON object.
fn request_body(request: &Value) -> Option<Result<String, String>> {
    let body = request.get("body")?;
    match body.get("mode").and_then(Value::as_str) {
        Some("raw") => {
            let raw = body.get("raw").and_then(Value::as_str).unwrap_or("");
            if raw.trim().is_empty() {
                return None;
            }
            Some(match serde_json::from_str::<Value>(raw) {
                Ok(_) => Ok(raw.to_owned()),
                Err(e) => Err(format!("request body is not JSON ({e})")),
            })
        }
        Some("urlencoded") => {
            let mut form = Map::new();
            for kv in body.get("urlencoded").and_then(Value::as_array).into_iter().flatten() {
                if kv.get("disabled").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let (Some(k), Some(v)) = (kv.get("key").and_then(Value::as_str), kv.get("value").and_then(Value::as_str)) {
                    form.insert(k.to_owned(), Value::String(v.to_owned()));
                }
            }
            Some(Ok(Value::Object(form).to_string()))
        }
        _ => None,
    }
}

fn check_item(report: &mut Report, collection: &str, item_path: &str, item: &Value) {
    let request = item.get("request").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("GET");
    let item_route = request.get("url").and_then(|u| route(method, u));

    // The item's own request body.
    if let Some(body) = request_body(&request) {
        let origin = Origin { collection, item: item_path, what: "request body".into() };
        match (body, item_route.and_then(Route::request_model)) {
            (Ok(body), Some(model)) => {
                report.requests_checked += 1;
                report.check(&origin, model, &body);
            }
            (Ok(_), None) => {
                report.failures.push(format!("{origin}: no model for {method} {:?}", request.get("url").and_then(|u| u.get("raw"))))
            }
            (Err(reason), _) => report.skipped.push(format!("{origin}: {reason}")),
        }
    }

    for example in item.get("response").and_then(Value::as_array).into_iter().flatten() {
        let name = example.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
        let short_name = name.lines().next().unwrap_or(name);
        let status = example.get("code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok()).unwrap_or(0);
        let original = example.get("originalRequest").cloned().unwrap_or(Value::Null);
        let ex_method = original.get("method").and_then(Value::as_str).unwrap_or(method);
        let ex_route = original.get("url").and_then(|u| route(ex_method, u));
        let origin = Origin { collection, item: item_path, what: format!("example \"{short_name}\" ({status})") };

        if report.excluded(collection, item_path, name) {
            continue;
        }
        let Some(route) = ex_route else {
            report.failures.push(format!(
                "{origin}: request {ex_method} {:?} maps to no model; model it or add it to EXCLUDED with a reason",
                original.get("url").and_then(|u| u.get("raw"))
            ));
            continue;
        };

        // The example's request body.
        if let Some(body) = request_body(&original) {
            let req_origin = Origin { collection, item: item_path, what: format!("request body of example \"{short_name}\"") };
            match (body, route.request_model()) {
                (Ok(body), Some(model)) => {
                    report.requests_checked += 1;
                    report.check(&req_origin, model, &body);
                }
                (Ok(_), None) => report.failures.push(format!("{req_origin}: no request model for {route:?}")),
                (Err(reason), _) => report.skipped.push(format!("{req_origin}: {reason}")),
            }
        }

        let body = example.get("body").and_then(Value::as_str).unwrap_or("");
        if body.trim().is_empty() {
            report.skipped.push(format!("{origin}: empty body"));
            continue;
        }
        if let Err(e) = serde_json::from_str::<Value>(body) {
            report.skipped.push(format!("{origin}: body is not JSON ({e})"));
            continue;
        }
        match route.response_model(status) {
            Some(model) => {
                report.responses_checked += 1;
                report.check(&origin, model, body);
            }
            None => report.failures.push(format!("{origin}: a {status} of {route:?} should have no body")),
        }
    }
}

fn walk(report: &mut Report, collection: &str, items: &[Value], path: &mut Vec<String>) {
    for item in items {
        let name = item.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
        path.push(name.lines().next().unwrap_or(name).to_owned());
        if let Some(children) = item.get("item").and_then(Value::as_array) {
            walk(report, collection, children, path);
        } else {
            let item_path = path.join(" / ");
            check_item(report, collection, &item_path, item);
        }
        path.pop();
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seb")
}

fn collection_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("tests/fixtures/seb exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".postman_collection.json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_seb_example_round_trips_through_the_model() {
    let files = collection_files();
    assert!(files.len() >= 4, "expected SEB's 4 Postman collections in {}, found {files:?}", fixtures().display());

    let mut report = Report::default();
    for file in &files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(file).expect("collection is readable");
        let collection: Value = serde_json::from_str(&text).expect("collection is JSON");
        let items = collection.get("item").and_then(Value::as_array).expect("collection has items");
        walk(&mut report, &name, items, &mut Vec::new());
    }

    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "golden: {} example responses and {} request bodies round-tripped",
        report.responses_checked, report.requests_checked
    );
    for (model, n) in &report.per_model {
        let _ = writeln!(summary, "  {n:4} × {model}");
    }
    let _ = writeln!(summary, "skipped {}:", report.skipped.len());
    for s in &report.skipped {
        let _ = writeln!(summary, "  {s}");
    }
    let _ = writeln!(summary, "excluded {} (see EXCLUDED)", report.excluded_hits.len());
    println!("{summary}");

    assert!(report.failures.is_empty(), "{} golden failures:\n{}", report.failures.len(), report.failures.join("\n"));
    for (i, (c, item, ex, reason)) in EXCLUDED.iter().enumerate() {
        assert!(report.excluded_hits.contains(&i), "stale exclusion ({reason}): [{c}] \"{item}\" \"{ex}\" matches nothing");
    }
    assert!(
        report.responses_checked >= MIN_RESPONSES_CHECKED,
        "only {} example responses checked, expected at least {MIN_RESPONSES_CHECKED}",
        report.responses_checked
    );
    assert!(
        report.requests_checked >= MIN_REQUEST_BODIES_CHECKED,
        "only {} request bodies checked, expected at least {MIN_REQUEST_BODIES_CHECKED}",
        report.requests_checked
    );
}

/// The vendored copies are SEB's files unchanged: if the project's reference folder
/// (`../shared/reference/seb` beside the checkout) is present, they are byte-identical.
#[test]
fn vendored_collections_match_the_reference_copy() {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/seb");
    if !reference.is_dir() {
        println!("reference folder {} not present; nothing to compare", reference.display());
        return;
    }
    for file in collection_files() {
        let name = file.file_name().expect("file name");
        let theirs = std::fs::read(reference.join(name)).expect("reference has the same collection");
        let ours = std::fs::read(&file).expect("vendored collection is readable");
        assert!(ours == theirs, "{} differs from the reference copy", file.display());
    }
}

/// The harness itself notices a model that loses data.
#[test]
fn a_lossy_model_is_reported() {
    #[derive(serde::Deserialize, Serialize)]
    struct Lossy {
        #[serde(rename = "paymentId")]
        payment_id: String,
    }
    let mut report = Report::default();
    let origin = Origin { collection: "test", item: "lossy", what: "example".into() };
    report.check(&origin, model!(Lossy), r#"{"paymentId": "p1", "transactionStatus": "RCVD"}"#);
    assert_eq!(report.failures.len(), 1, "a dropped member must be a failure");
    report.check(&origin, model!(PaymentStatusResponse), r#"{"transactionStatus": "RCVD", "x": 1}"#);
    assert_eq!(report.failures.len(), 1, "an unknown member is kept by the real model");
    report.check(&origin, model!(PaymentStatusResponse), r#"{"transactionStatus": "RCVD", "x": 1.50}"#);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.per_model.get("PaymentStatusResponse"), Some(&2));
}

/// The router maps SEB's URL forms as intended (guards the golden test itself).
#[test]
fn routes_are_recognised() {
    let url = |s: &str| Value::String(s.to_owned());
    assert_eq!(route("GET", &url("{{baseUrl}}/payments/:paymentProduct/:paymentId/status")), Some(Route::PaymentStatus));
    assert_eq!(route("POST", &url("{{baseUrl}}/payments/{{template_id}}")), Some(Route::PaymentInitiate));
    assert_eq!(
        route("GET", &url("https://api-sandbox.sebgroup.com/ais/v7/identified2/accounts/x/transactions?bookingStatus=booked")),
        Some(Route::Transactions)
    );
    assert_eq!(route("POST", &url("https://api-sandbox.sebgroup.com/auth/v3/tokens")), Some(Route::DecoupledToken));
    assert_eq!(route("POST", &url("{{tokenUri}}")), Some(Route::OAuthToken));
    assert_eq!(route("PATCH", &url("{{baseUrl}}/payments/mock/resetall")), Some(Route::MockReset));
    assert_eq!(route("GET", &url("{{baseUrl}}/unknown")), None);
}
