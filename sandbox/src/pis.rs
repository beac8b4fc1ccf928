//! Payment Initiation v7 under `/pis/v7/identified2` (and funds confirmation under
//! `/cof/v7/identified2`).
//!
//! A payment is `RCVD` until the PSU signs it: `POST …/authorisations` starts signing with one
//! of the methods in `scaMethods`, and from then on every poll of the authorisation, the
//! payment or its status advances it ([`crate::signing`]: `mobiltbankid` signs by itself, the
//! BankID methods wait for the person); once signed the payment goes `RCVD → ACTC → ACSC`.
//! A signing basket works the same way for all its payments. Cancelling is allowed until the
//! payment is final. A payment the debtor account cannot cover (more than its available
//! balance) is rejected where SEB would execute it: `ACTC → RJCT`, with a `tppMessages` entry
//! saying why. An executed (`ACSC`) payment is booked on the debtor account that day. A second
//! initiation with an `X-Request-ID` already used is rejected (SEB uses the id as the payment
//! reference): 400 with `transactionStatus: RJCT`.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use serde_json::{json, Value};
use valv_psd2::account::AccountReference;
use valv_psd2::payment::{FundsConfirmationRequest, PaymentInitiation, PaymentProduct, SigningBasketRequest, TransactionStatus};

use crate::ais::{reply, request_id};
use crate::auth::Psu;
use crate::bank::{money, BankState, Basket, Payment};
use crate::error::Problem;
use crate::signing::{self, Authorisation, Method};
use crate::state::SandboxState;

/// Base path of PIS v7.
pub const BASE: &str = "/pis/v7/identified2";
/// Base path of funds confirmation v7.
pub const COF: &str = "/cof/v7/identified2";

/// The PIS and funds-confirmation routes.
pub fn router() -> Router<SandboxState> {
    let mut r = Router::new()
        .route(&format!("{BASE}/templates"), get(templates))
        .route(&format!("{BASE}/templates/{{id}}"), get(template))
        .route(&format!("{BASE}/payments/mock/resetall"), patch(reset_all))
        .route(&format!("{BASE}/signing-baskets"), post(create_basket))
        .route(&format!("{BASE}/signing-baskets/{{id}}"), get(get_basket).delete(delete_basket))
        .route(&format!("{BASE}/signing-baskets/{{id}}/status"), get(basket_status))
        .route(&format!("{BASE}/signing-baskets/{{id}}/authorisations"), post(start_basket_auth).get(list_basket_auth))
        .route(&format!("{BASE}/signing-baskets/{{id}}/authorisations/{{auth}}"), get(basket_auth))
        .route(&format!("{COF}/funds-confirmations"), post(funds));
    for service in ["payments", "periodic-payments"] {
        r = r
            .route(&format!("{BASE}/{service}/{{product}}"), post(initiate))
            .route(&format!("{BASE}/{service}/{{product}}/{{id}}"), get(get_payment).delete(cancel))
            .route(&format!("{BASE}/{service}/{{product}}/{{id}}/status"), get(payment_status))
            .route(&format!("{BASE}/{service}/{{product}}/{{id}}/authorisations"), post(start_auth).get(list_auth))
            .route(&format!("{BASE}/{service}/{{product}}/{{id}}/authorisations/{{auth}}"), get(auth_status));
    }
    r
}

fn admit(psu: &Psu, headers: &HeaderMap) -> Result<String, Problem> {
    psu.require("psd2_payments")?;
    request_id(headers)
}

fn service_of(uri: &axum::http::Uri) -> &'static str {
    if uri.path().starts_with(&format!("{BASE}/periodic-payments/")) {
        "periodic-payments"
    } else {
        "payments"
    }
}

fn product(text: &str) -> Result<PaymentProduct, Problem> {
    match PaymentProduct::from_str(text) {
        Ok(p) if p.is_known() => Ok(p),
        _ => Err(Problem::new(StatusCode::NOT_FOUND, "PRODUCT_UNKNOWN", format!("The payment product {text} is not supported"))),
    }
}

fn unknown_payment() -> Problem {
    Problem::unknown("The payment is unknown")
}

fn templates_list() -> Vec<(PaymentProduct, &'static str)> {
    vec![
        (
            PaymentProduct::SwedishDomesticPrivateCreditTransfers,
            "The template supports Swedish domestic credit transfers for private customers",
        ),
        (PaymentProduct::SwedishDomesticPrivateBankgiros, "The template supports Swedish Bankgiro payments for private customers"),
        (PaymentProduct::SwedishDomesticPrivatePlusgiros, "The template supports Swedish Plusgiro payments for private customers"),
        (PaymentProduct::SwedishDomesticPrivateOwnAccountsTransfers, "The template supports transfers between the customer's own accounts"),
        (PaymentProduct::SepaCreditTransfers, "The template supports SEPA credit transfers"),
        (PaymentProduct::CrossBorderCreditTransfers, "The template supports cross-border credit transfers"),
    ]
}

async fn templates(State(_st): State<SandboxState>, psu: Psu, headers: HeaderMap) -> Result<Response, Problem> {
    psu.require("psd2_payments")?;
    let rid = request_id(&headers).unwrap_or_else(|_| uuid::Uuid::new_v4().to_string());
    let list: Vec<Value> =
        templates_list().into_iter().map(|(p, d)| json!({"templateId": p.as_str(), "description": d, "scope": ["PRIVATE"]})).collect();
    Ok(reply(StatusCode::OK, &rid, Value::Array(list)))
}

async fn template(State(_st): State<SandboxState>, psu: Psu, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    psu.require("psd2_payments")?;
    let rid = request_id(&headers).unwrap_or_else(|_| uuid::Uuid::new_v4().to_string());
    let p = PaymentProduct::from_str(&id).ok().filter(|p| templates_list().iter().any(|(t, _)| t == p));
    let Some(p) = p else { return Err(Problem::unknown("Template not found")) };
    let creditor = match p {
        PaymentProduct::SwedishDomesticPrivateBankgiros => json!({"bgnr": "8080-1111"}),
        PaymentProduct::SwedishDomesticPrivatePlusgiros => json!({"pgnr": "12345678"}),
        _ => json!({"iban": "SE2550000000054400047903"}),
    };
    Ok(reply(
        StatusCode::OK,
        &rid,
        json!({
            "templateId": p.as_str(),
            "instructedAmount": {"amount": "100.00", "currency": if p == PaymentProduct::SepaCreditTransfers { "EUR" } else { "SEK" }},
            "debtorAccount": {"iban": "SE3750000000054400047881"},
            "creditorAccount": creditor,
            "creditorName": "Creditor Namesson",
            "debtorAccountMessage": "Text for me",
            "creditorAccountMessage": "Text to you",
            "requestedExecutionDate": "YYYY-MM-DD",
        }),
    ))
}

fn debtor_known(bank: &BankState, person: &str, r: &AccountReference) -> bool {
    r.iban.as_deref().or(r.bban.as_deref()).is_some_and(|n| bank.account_by_number(person, n).is_some())
}

async fn initiate(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(product_id): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let service = service_of(&uri);
    let product = product(&product_id)?;
    let payment: PaymentInitiation =
        serde_json::from_slice(&body).map_err(|e| Problem::format(format!("The payment body is not valid: {e}")))?;
    payment.validate(&product).map_err(invalid)?;
    if service == "periodic-payments" && (payment.start_date.is_none() || payment.frequency.is_none()) {
        return Err(Problem::format("A periodic payment needs startDate and frequency"));
    }
    let mut bank = st.bank().state();
    if !debtor_known(&bank, &psu.person_id, &payment.debtor_account) {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "RESOURCE_UNKNOWN", "Debit account not found"));
    }
    if !bank.request_ids.insert(rid.clone()) {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            &rid,
            json!({
                "transactionStatus": "RJCT",
                "tppMessages": ["A payment with this X-Request-ID has already been received."],
            }),
        ));
    }
    let id = bank.new_id("payment");
    let mut response = serde_json::to_value(&payment).unwrap_or_else(|_| json!({}));
    bank.payments.insert(
        id.clone(),
        Payment {
            id: id.clone(),
            person: psu.person_id.clone(),
            service,
            product: product.clone(),
            body: payment,
            status: TransactionStatus::Rcvd,
            authorisations: Vec::new(),
            rejection: None,
        },
    );
    response["paymentId"] = json!(id);
    response["templateId"] = json!(product.as_str());
    response["transactionStatus"] = json!("RCVD");
    response["chosenScaMethod"] = json!({});
    response["_links"] = json!({"status": {"href": format!("/{service}/{}/{id}/status", product.as_str())}});
    Ok(reply(StatusCode::CREATED, &rid, response))
}

/// Finds the person's payment of this service and product.
fn find<'a>(bank: &'a mut BankState, psu: &Psu, service: &str, product: &str, id: &str) -> Result<&'a mut Payment, Problem> {
    bank.payments
        .get_mut(id)
        .filter(|p| p.person == psu.person_id && p.service == service && p.product.as_str() == product)
        .ok_or_else(unknown_payment)
}

/// Called on every poll of a payment: one signing step; at execution the funds check, then
/// the booking on the debtor account.
fn advance(bank: &mut BankState, id: &str) {
    let today = bank.today;
    let Some(p) = bank.payments.get_mut(id) else { return };
    let was = p.status.clone();
    signing::step(&mut p.authorisations, &mut p.status);
    if was != TransactionStatus::Actc || p.status != TransactionStatus::Acsc {
        return;
    }
    let (person, body, pid) = (p.person.clone(), p.body.clone(), p.id.clone());
    let ore = body.instructed_amount.amount.to_minor_units(2).ok().and_then(|o| i64::try_from(o).ok());
    let number = body.debtor_account.iban.as_deref().or(body.debtor_account.bban.as_deref()).unwrap_or_default();
    let account = bank.account_by_number_mut(&person, number);
    let covered = match (ore, &account) {
        (Some(ore), Some(a)) => body.instructed_amount.currency != "SEK" || ore <= a.available(),
        _ => false,
    };
    if !covered {
        if let Some(p) = bank.payments.get_mut(id) {
            p.status = TransactionStatus::Rjct;
            p.rejection = Some("The payment was rejected: the debtor account does not have enough money available.");
        }
        return;
    }
    if let (Some(ore), Some(a)) = (ore, account) {
        if body.instructed_amount.currency == "SEK" {
            let to = body.creditor_name.as_deref().unwrap_or("Payment");
            let text = body.creditor_account_message.as_deref().or(body.remittance_information_unstructured.as_deref()).unwrap_or(to);
            a.book_payment(&pid, ore, to, text, today);
        }
    }
}

fn status_body(p: &Payment) -> Value {
    let mut v = json!({"transactionStatus": p.status.as_str()});
    if let Some(reason) = p.rejection {
        v["tppMessages"] = json!([{"category": "ERROR", "code": "PAYMENT_FAILED", "text": reason}]);
    }
    if signing::can_start(&p.authorisations, &p.status) {
        v["scaMethods"] = signing::sca_methods();
        v["chosenScaMethod"] = json!({});
        v["psuMessage"] = json!("Öppna Mobilt BankID app");
        v["_links"] = json!({"startAuthorisationWithAuthenticationMethodSelection": {
            "href": format!("/{}/{}/{}/authorisations", p.service, p.product.as_str(), p.id)
        }});
    }
    v
}

async fn get_payment(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((product, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    find(&mut bank, &psu, service_of(&uri), &product, &id)?;
    advance(&mut bank, &id);
    let p = find(&mut bank, &psu, service_of(&uri), &product, &id)?;
    let mut v = serde_json::to_value(&p.body).unwrap_or_else(|_| json!({}));
    v["paymentId"] = json!(p.id);
    v["transactionStatus"] = json!(p.status.as_str());
    Ok(reply(StatusCode::OK, &rid, v))
}

async fn payment_status(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((product, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    find(&mut bank, &psu, service_of(&uri), &product, &id)?;
    advance(&mut bank, &id);
    let p = find(&mut bank, &psu, service_of(&uri), &product, &id)?;
    Ok(reply(StatusCode::OK, &rid, status_body(p)))
}

async fn cancel(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((product, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    let p = find(&mut bank, &psu, service_of(&uri), &product, &id)?;
    if p.status.is_final() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "CANCELLATION_INVALID",
            format!("The payment is {} and can no longer be cancelled", p.status.as_str()),
        ));
    }
    p.status = TransactionStatus::Canc;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = rid.parse() {
        res.headers_mut().insert("x-request-id", v);
    }
    Ok(res)
}

/// The SCA method a start-authorisation body asks for.
fn method(body: &Bytes) -> Result<Method, Problem> {
    if body.is_empty() {
        return Ok(Method::MobiltBankId);
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| Problem::format(format!("The body is not valid JSON: {e}")))?;
    Method::parse(v.get("authenticationMethodId").and_then(Value::as_str)).map_err(Problem::format)
}

async fn start_auth(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((product, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let method = method(&body)?;
    let service = service_of(&uri);
    let mut bank = st.bank().state();
    let auth_id = bank.new_id("authorisation");
    let p = find(&mut bank, &psu, service, &product, &id)?;
    if p.status != TransactionStatus::Rcvd {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "STATUS_INVALID",
            format!("The payment is {} and cannot be signed", p.status.as_str()),
        ));
    }
    let auth = Authorisation::start(auth_id, method);
    let body = auth.body(&format!("/{service}"), &format!("{product}/{id}"));
    p.authorisations.push(auth);
    Ok(reply(StatusCode::CREATED, &rid, body))
}

async fn list_auth(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((product, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    let p = find(&mut bank, &psu, service_of(&uri), &product, &id)?;
    let ids: Vec<&str> = p.authorisations.iter().map(|a| a.id.as_str()).collect();
    Ok(reply(StatusCode::OK, &rid, json!({ "authorisationIds": ids })))
}

async fn auth_status(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path((product, id, auth)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let service = service_of(&uri);
    let mut bank = st.bank().state();
    let p = find(&mut bank, &psu, service, &product, &id)?;
    if !p.authorisations.iter().any(|a| a.id == auth) {
        return Err(Problem::unknown("The authorisation is unknown"));
    }
    if p.authorisations.last().is_some_and(|a| a.id == auth) {
        advance(&mut bank, &id);
    }
    let p = find(&mut bank, &psu, service, &product, &id)?;
    let a = p.authorisations.iter().find(|a| a.id == auth).ok_or_else(|| Problem::unknown("The authorisation is unknown"))?;
    Ok(reply(StatusCode::OK, &rid, a.body(&format!("/{service}"), &format!("{product}/{id}"))))
}

async fn reset_all(State(st): State<SandboxState>, psu: Psu) -> Result<Response, Problem> {
    psu.require("psd2_payments")?;
    let mut bank = st.bank().state();
    bank.payments.clear();
    bank.baskets.clear();
    bank.request_ids.clear();
    Ok((StatusCode::OK, axum::Json(json!({"resultMessage": "All mock payments were reset"}))).into_response())
}

// ------------------------------------------------------------------ signing baskets

fn basket_body(b: &Basket) -> Value {
    let mut v = json!({
        "basketId": b.id,
        "paymentIds": b.payment_ids,
        "transactionStatus": b.status.as_str(),
        "_links": {
            "self": {"href": format!("/signing-baskets/{}", b.id)},
            "status": {"href": format!("/signing-baskets/{}/status", b.id)},
        },
    });
    if signing::can_start(&b.authorisations, &b.status) {
        v["scaMethods"] = signing::sca_methods();
        v["_links"]["startAuthorisationWithAuthenticationMethodSelection"] =
            json!({"href": format!("/signing-baskets/{}/authorisations", b.id)});
    }
    v
}

fn find_basket<'a>(bank: &'a mut BankState, psu: &Psu, id: &str) -> Result<&'a mut Basket, Problem> {
    bank.baskets.get_mut(id).filter(|b| b.person == psu.person_id).ok_or_else(|| Problem::unknown("The signing basket is unknown"))
}

/// One signing step for a basket; when it is signed its payments are accepted too.
fn advance_basket(bank: &mut BankState, id: &str) {
    let Some(b) = bank.baskets.get_mut(id) else { return };
    if !signing::step(&mut b.authorisations, &mut b.status) {
        return;
    }
    for pid in b.payment_ids.clone() {
        if let Some(p) = bank.payments.get_mut(&pid) {
            if p.status == TransactionStatus::Rcvd {
                p.status = TransactionStatus::Actc;
                p.authorisations.push(Authorisation::finalised(format!("basket-{id}")));
            }
        }
    }
}

async fn create_basket(State(st): State<SandboxState>, psu: Psu, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let req: SigningBasketRequest =
        serde_json::from_slice(&body).map_err(|e| Problem::format(format!("The signing basket body is not valid: {e}")))?;
    if req.payment_ids.is_empty() {
        return Err(Problem::format("paymentIds must name at least one payment"));
    }
    let mut bank = st.bank().state();
    for pid in &req.payment_ids {
        match bank.payments.get(pid) {
            Some(p) if p.person == psu.person_id && signing::can_start(&p.authorisations, &p.status) => {}
            Some(p) if p.person == psu.person_id => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "STATUS_INVALID",
                    format!("The payment {pid} is {} and cannot be put in a basket", p.status.as_str()),
                ))
            }
            _ => return Err(Problem::new(StatusCode::BAD_REQUEST, "RESOURCE_UNKNOWN", format!("The payment {pid} is unknown"))),
        }
    }
    let id = bank.new_id("basket");
    let basket = Basket {
        id: id.clone(),
        person: psu.person_id.clone(),
        payment_ids: req.payment_ids,
        status: TransactionStatus::Rcvd,
        authorisations: Vec::new(),
    };
    let body = basket_body(&basket);
    bank.baskets.insert(id, basket);
    Ok(reply(StatusCode::CREATED, &rid, body))
}

async fn get_basket(State(st): State<SandboxState>, psu: Psu, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    find_basket(&mut bank, &psu, &id)?;
    advance_basket(&mut bank, &id);
    let b = find_basket(&mut bank, &psu, &id)?;
    Ok(reply(StatusCode::OK, &rid, basket_body(b)))
}

async fn basket_status(State(st): State<SandboxState>, psu: Psu, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    find_basket(&mut bank, &psu, &id)?;
    advance_basket(&mut bank, &id);
    let b = find_basket(&mut bank, &psu, &id)?;
    Ok(reply(StatusCode::OK, &rid, json!({"transactionStatus": b.status.as_str()})))
}

async fn delete_basket(State(st): State<SandboxState>, psu: Psu, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let _rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    let b = find_basket(&mut bank, &psu, &id)?;
    if b.status != TransactionStatus::Rcvd {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "CANCELLATION_INVALID",
            format!("The signing basket is {} and can no longer be deleted", b.status.as_str()),
        ));
    }
    bank.baskets.remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn start_basket_auth(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let method = method(&body)?;
    let mut bank = st.bank().state();
    let auth_id = bank.new_id("authorisation");
    let b = find_basket(&mut bank, &psu, &id)?;
    if b.status != TransactionStatus::Rcvd {
        return Err(Problem::new(StatusCode::CONFLICT, "STATUS_INVALID", "The signing basket is already signed"));
    }
    let auth = Authorisation::start(auth_id, method);
    let mut v = auth.body("/signing-baskets", &id);
    b.authorisations.push(auth);
    v["basketId"] = json!(id);
    Ok(reply(StatusCode::CREATED, &rid, v))
}

async fn list_basket_auth(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    let b = find_basket(&mut bank, &psu, &id)?;
    let ids: Vec<&str> = b.authorisations.iter().map(|a| a.id.as_str()).collect();
    Ok(reply(StatusCode::OK, &rid, json!({ "authorisationIds": ids })))
}

async fn basket_auth(
    State(st): State<SandboxState>,
    psu: Psu,
    headers: HeaderMap,
    Path((id, auth)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let rid = admit(&psu, &headers)?;
    let mut bank = st.bank().state();
    let b = find_basket(&mut bank, &psu, &id)?;
    if !b.authorisations.iter().any(|a| a.id == auth) {
        return Err(Problem::unknown("The authorisation is unknown"));
    }
    let last = b.authorisations.last().is_some_and(|a| a.id == auth);
    if last {
        advance_basket(&mut bank, &id);
    }
    let b = find_basket(&mut bank, &psu, &id)?;
    let a = b.authorisations.iter().find(|a| a.id == auth).ok_or_else(|| Problem::unknown("The authorisation is unknown"))?;
    let mut v = a.body("/signing-baskets", &id);
    v["basketId"] = json!(id);
    Ok(reply(StatusCode::OK, &rid, v))
}

// ------------------------------------------------------------------ funds confirmation

/// A body that breaks valv-psd2's rules: 400 `FORMAT_ERROR` naming every problem.
fn invalid(errors: Vec<valv_psd2::FieldError>) -> Problem {
    Problem::format(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
}

async fn funds(State(st): State<SandboxState>, psu: Psu, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    if psu.require("psd2_payments").is_err() {
        psu.require("psd2_accounts")?;
    }
    let rid = request_id(&headers)?;
    let req: FundsConfirmationRequest =
        serde_json::from_slice(&body).map_err(|e| Problem::format(format!("The funds confirmation body is not valid: {e}")))?;
    // The same rules as the broker's client checks before sending (valv-psd2's).
    req.validate().map_err(invalid)?;
    let ore = req.instructed_amount.amount.to_minor_units(2).map_err(|e| Problem::format(format!("instructedAmount.amount: {e}")))?;
    let bank = st.bank().state();
    let number = req.account.iban.as_deref().or(req.account.bban.as_deref()).unwrap_or_default();
    let account = bank
        .account_by_number(&psu.person_id, number)
        .ok_or_else(|| Problem::new(StatusCode::BAD_REQUEST, "RESOURCE_UNKNOWN", "Account not found"))?;
    let available = i128::from(account.available());
    tracing::debug!(available = %money(account.available(), 2), "funds confirmation");
    Ok(reply(StatusCode::OK, &rid, json!({ "fundsAvailable": ore <= available })))
}
