//! Browser tests of `valv-client` in headless Chromium (wasm-bindgen-test + ChromeDriver).
//!
//! Two groups:
//! - `offline_*`: no server needed (arguments, the error class, network errors, abort).
//! - `live_*`: against a running broker and sandbox bank. `cargo xtask test` starts both
//!   and compiles this file with `VALV_TEST_BROKER` (e.g. `http://127.0.0.1:8080`) and
//!   `VALV_TEST_SANDBOX` (e.g. `http://localhost:8081`, started with `--controls`) set.
//!   The test page's origin (`WASM_BINDGEN_TEST_ADDRESS`) must be in the broker's CORS
//!   allowlist. Without the variables the live tests fail with a message saying so.
//!
//! Login runs the real redirect flow in a top-level window (`window.open`; the broker forbids
//! framing and its Lax cookie needs a top-level navigation): broker `/auth/login` → sandbox
//! `authorize` (which, with test controls on, approves a request whose `login_hint` is a
//! test person without showing its form) → broker `/auth/callback` → `returnTo`.
#![cfg(target_arch = "wasm32")]
#![allow(missing_docs)]

use js_sys::{Array, Object, Promise, Reflect};
use tsify::Ts;
use valv_client::Valv;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const BROKER: Option<&str> = option_env!("VALV_TEST_BROKER");
const SANDBOX: Option<&str> = option_env!("VALV_TEST_SANDBOX");
const PERSON: &str = "9311219639";
const AIS: &str = "/ais/v7/identified2";
const TRANSFER: &str = "swedish-domestic-private-credit-transfers";

// Sandbox test controls used here (POST JSON, or GET for tokens; CORS open on `/__sandbox/`):
/// `{"method", "path", "status", "count", "retryAfter"?}`: the next `count` matching calls fail.
const CONTROL_FAILURES: &str = "/__sandbox/failures";
/// `{"method", "path", "ms", "count"}`: the next `count` matching calls answer after `ms`.
const CONTROL_LATENCY: &str = "/__sandbox/latency";
/// `{"personalIdentityNumber"}`: revokes the person's grants (access and refresh tokens).
const CONTROL_REVOKE: &str = "/__sandbox/revoke";
/// `GET ?personalIdentityNumber=`: `[{"accessToken", "refreshToken"}]` issued to the person.
const CONTROL_TOKENS: &str = "/__sandbox/tokens";

#[wasm_bindgen(inline_js = r#"
export function obj(json) { return JSON.parse(json); }
export async function collectPages(iterable, max) {
  const pages = [];
  for await (const page of iterable) { pages.push(page); if (pages.length >= max) break; }
  return pages;
}
export function isAsyncIterable(v) { return typeof v[Symbol.asyncIterator] === "function"; }
export function stackOf(e) { return typeof e.stack === "string" ? e.stack : ""; }
export function nameOf(e) { return e.name; }
export function abortedSignal() { const c = new AbortController(); c.abort(); return c.signal; }
export function abortLater(ms) { const c = new AbortController(); setTimeout(() => c.abort(), ms); return c.signal; }
export function recorder() {
  const events = [];
  const cb = (e) => events.push(e);
  cb.events = events;
  return cb;
}
export function nextEvent(cb) {
  if (cb.events.length) return Promise.resolve(cb.events.shift());
  return new Promise((resolve) => {
    const push = cb.events.push.bind(cb.events);
    cb.events.push = (e) => { cb.events.push = push; resolve(e); return 0; };
  });
}
export function eventCount(cb) { return cb.events.length; }
export function openLogin(url) {
  // A top-level window, as a user's login is: the broker forbids framing (frame-ancestors
  // 'none', checked by Chromium on every redirect), and the session cookie is SameSite=Lax,
  // sent after the bank's cross-site redirect only on a top-level navigation.
  return window.open(url, "valv-login");
}
export function closeLogin(w) { if (w) w.close(); }
export function sleepMs(ms) { return new Promise((r) => setTimeout(r, ms)); }
export async function control(base, path, body) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  if (!r.ok) throw new Error(`sandbox control ${path}: HTTP ${r.status} ${await r.text()}`);
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}
export async function controlGet(base, path) {
  const r = await fetch(base + path);
  if (!r.ok) throw new Error(`sandbox control ${path}: HTTP ${r.status}`);
  return r.json();
}
export async function rawFetch(url, headers) {
  const r = await fetch(url, { credentials: "include", headers });
  return [r.status, await r.text()];
}
export function newController() { return new AbortController(); }
export function signalOf(c) { return c.signal; }
export function abortNow(c) { c.abort(); }
export function returnToOf(url) { return new URL(url, location.href).searchParams.get("returnTo"); }
export function pageAddress() { return location.pathname + location.search + location.hash; }
export function setLoginMark() { sessionStorage.setItem("valv:login-pending", "1"); }
export function hasLoginMark() { return sessionStorage.getItem("valv:login-pending") !== null; }
export function storageDump() {
  const dump = [document.cookie];
  for (const s of [localStorage, sessionStorage]) {
    for (let i = 0; i < s.length; i++) { const k = s.key(i); dump.push(k, s.getItem(k)); }
  }
  return dump.join("\n");
}
"#)]
extern "C" {
    fn obj(json: &str) -> JsValue;
    #[wasm_bindgen(js_name = collectPages)]
    fn collect_pages(iterable: &JsValue, max: u32) -> Promise;
    #[wasm_bindgen(js_name = isAsyncIterable)]
    fn is_async_iterable(v: &JsValue) -> bool;
    #[wasm_bindgen(js_name = stackOf)]
    fn stack_of(e: &JsValue) -> String;
    #[wasm_bindgen(js_name = nameOf)]
    fn name_of(e: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = abortedSignal)]
    fn aborted_signal() -> JsValue;
    #[wasm_bindgen(js_name = abortLater)]
    fn abort_later(ms: u32) -> JsValue;
    fn recorder() -> js_sys::Function;
    #[wasm_bindgen(js_name = nextEvent)]
    fn next_event(cb: &js_sys::Function) -> Promise;
    #[wasm_bindgen(js_name = eventCount)]
    fn event_count(cb: &js_sys::Function) -> u32;
    #[wasm_bindgen(js_name = openLogin)]
    fn open_login(url: &str) -> JsValue;
    #[wasm_bindgen(js_name = closeLogin)]
    fn close_login(window: &JsValue);
    #[wasm_bindgen(js_name = sleepMs)]
    fn sleep_ms(ms: u32) -> Promise;
    #[wasm_bindgen(catch)]
    fn control(base: &str, path: &str, body: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = controlGet)]
    fn control_get(base: &str, path: &str) -> Promise;
    #[wasm_bindgen(js_name = rawFetch)]
    fn raw_fetch(url: &str, headers: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = storageDump)]
    fn storage_dump() -> String;
    #[wasm_bindgen(js_name = newController)]
    fn new_controller() -> JsValue;
    #[wasm_bindgen(js_name = signalOf)]
    fn signal_of(controller: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = abortNow)]
    fn abort_now(controller: &JsValue);
    #[wasm_bindgen(js_name = returnToOf)]
    fn return_to_of(url: &str) -> Option<String>;
    #[wasm_bindgen(js_name = pageAddress)]
    fn page_address() -> String;
    #[wasm_bindgen(js_name = setLoginMark)]
    fn set_login_mark();
    #[wasm_bindgen(js_name = hasLoginMark)]
    fn has_login_mark() -> bool;
}

// ---------------------------------------------------------------- helpers

fn o<T: tsify::Tsify>(json: &str) -> Option<Ts<T>> {
    Some(Ts::new_unchecked(obj(json)))
}

fn with_signal<T: tsify::Tsify>(json: &str, signal: &JsValue) -> Option<Ts<T>> {
    let v = obj(json);
    Reflect::set(&v, &"signal".into(), signal).expect("set signal");
    Some(Ts::new_unchecked(v))
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn s(v: &JsValue, key: &str) -> String {
    get(v, key).as_string().unwrap_or_default()
}

fn describe(e: &JsValue) -> String {
    format!(
        "{} ({}, HTTP {}, request {}): {}",
        s(e, "name"),
        s(e, "code"),
        get(e, "status").as_f64().unwrap_or(-1.0),
        s(e, "requestId"),
        s(e, "message")
    )
}

/// Awaits a promise that must resolve.
async fn ok(p: Promise) -> JsValue {
    match JsFuture::from(p).await {
        Ok(v) => v,
        Err(e) => panic!("unexpected rejection: {}", describe(&e)),
    }
}

/// Awaits a promise that must reject with a `ValvError`; returns the error.
async fn rejects(p: Promise) -> JsValue {
    match JsFuture::from(p).await {
        Ok(v) => panic!("expected a rejection, got {:?}", js_sys::JSON::stringify(&v)),
        Err(e) => {
            assert!(e.is_instance_of::<js_sys::Error>(), "rejection is an Error: {e:?}");
            assert_eq!(name_of(&e).as_string().as_deref(), Some("ValvError"));
            e
        }
    }
}

async fn rejects_with(p: Promise, code: &str) -> JsValue {
    let e = rejects(p).await;
    assert_eq!(s(&e, "code"), code, "{}", describe(&e));
    e
}

fn is_uuid_v4(id: &str) -> bool {
    let b = id.as_bytes();
    id.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
        && id.bytes().enumerate().all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) || c.is_ascii_hexdigit())
}

/// A client pointing at a port where nothing listens.
fn dead_client(retries: u32) -> Valv {
    Valv::new(o(&format!(r#"{{"baseUrl": "http://127.0.0.1:9", "provider": "seb", "timeoutMs": 5000, "retries": {retries}}}"#)))
        .expect("client")
}

fn broker() -> &'static str {
    BROKER.expect("VALV_TEST_BROKER is not set: run the browser tests through `cargo xtask test`")
}

fn sandbox() -> &'static str {
    SANDBOX.expect("VALV_TEST_SANDBOX is not set: run the browser tests through `cargo xtask test`")
}

fn live_client(extra: &str) -> Valv {
    Valv::new(o(&format!(r#"{{"baseUrl": "{}", "provider": "seb"{extra}}}"#, broker()))).expect("client")
}

async fn sandbox_control(path: &str, body: &str) -> JsValue {
    let p = control(sandbox(), path, &obj(body)).expect("control call");
    ok(p).await
}

/// Logs in through the real redirect flow (hidden iframe) and checks the session.
async fn login(valv: &Valv) {
    let before = ok(valv.session(None)).await;
    if get(&before, "authenticated").as_bool() == Some(true) {
        ok(valv.logout(None)).await;
    }
    let url = valv
        .login_url(o(&format!(r#"{{"returnTo": "/healthz", "scopes": ["psd2_accounts", "psd2_payments"], "loginHint": "{PERSON}"}}"#)))
        .expect("login url");
    let window = open_login(&url);
    let mut session = ok(valv.session(None)).await;
    // Poll for up to 30 s (a cold Chromium may take a while to open its first window).
    for _ in 0..300 {
        if get(&session, "authenticated").as_bool() == Some(true) {
            break;
        }
        ok(sleep_ms(100)).await;
        session = ok(valv.session(None)).await;
    }
    close_login(&window);
    assert_eq!(
        get(&session, "authenticated").as_bool(),
        Some(true),
        "login through {url} did not complete (is the sandbox started with --controls, and does the broker pass login_hint?)"
    );
}

/// Waits for a session change of `kind`, skipping others (e.g. the `logout` of a session
/// left over from an earlier test).
async fn expect_event(events: &js_sys::Function, kind: &str) -> JsValue {
    for _ in 0..4 {
        let e = ok(next_event(events)).await;
        if s(&e, "type") == kind {
            return e;
        }
    }
    panic!("no {kind} session change");
}

async fn first_account(valv: &Valv) -> String {
    let accounts = ok(valv.accounts(None)).await;
    let accounts = Array::from(&accounts);
    assert!(accounts.length() > 0, "the test person has accounts");
    s(&accounts.get(0), "resourceId")
}

fn payment_json(debtor_iban: &str, amount: &str) -> JsValue {
    obj(&format!(
        r#"{{"templateId": "{TRANSFER}",
            "instructedAmount": {{"amount": "{amount}", "currency": "SEK"}},
            "debtorAccount": {{"iban": "{debtor_iban}"}},
            "creditorAccount": {{"iban": "SE2550000000054400047903"}},
            "creditorName": "Valv test", "creditorAccountMessage": "valv test"}}"#
    ))
}

/// A fresh amount per call so the bank's duplicate check never matches.
fn unique_amount() -> String {
    let cents = (js_sys::Math::random() * 90_000.0) as u32 + 1_000;
    format!("{}.{:02}", cents / 100, cents % 100)
}

async fn debtor_iban(valv: &Valv) -> String {
    let accounts = Array::from(&ok(valv.accounts(None)).await);
    accounts.iter().map(|a| s(&a, "iban")).find(|i| !i.is_empty()).expect("an account with an IBAN")
}

// ---------------------------------------------------------------- offline

#[wasm_bindgen_test]
async fn offline_bad_arguments_are_rejected_before_any_request() {
    // Nothing listens at the base URL: a request would end in `network`, not `invalid_argument`.
    let v = dead_client(0);
    rejects_with(v.account("", None), "invalid_argument").await;
    rejects_with(v.balances("  ", None), "invalid_argument").await;
    rejects_with(v.transaction("a1", "", None), "invalid_argument").await;
    rejects_with(v.payment_status("Not A Product", "p1", None), "invalid_argument").await;
    rejects_with(v.payment_status(TRANSFER, "", None), "invalid_argument").await;
    rejects_with(v.authorisation_status(TRANSFER, "p1", "", None), "invalid_argument").await;
    rejects_with(v.request("BREW", "/x", None, None), "invalid_argument").await;
    rejects_with(v.request("GET", "https://evil.example/", None, None), "invalid_argument").await;
    rejects_with(v.accounts(o(r#"{"withBalance": "yes"}"#)), "invalid_argument").await;
    for (amount, needle) in [("-5", "greater than zero"), ("0", "greater than zero"), ("1e3", "decimal")] {
        let e =
            rejects_with(v.initiate_payment(TRANSFER, payment_json("SE3750000000054400047881", amount), None), "invalid_argument").await;
        assert!(s(&e, "message").contains(needle), "{}", describe(&e));
    }
    let number_amount = obj(r#"{"instructedAmount": {"amount": 12.5, "currency": "SEK"},
            "debtorAccount": {"iban": "SE37"}, "creditorAccount": {"iban": "SE25"}}"#);
    rejects_with(v.initiate_payment(TRANSFER, number_amount, None), "invalid_argument").await;
    rejects_with(
        v.funds_confirmation(obj(r#"{"account": {"iban": "SE37"}, "instructedAmount": {"amount": "-1", "currency": "SEK"}}"#), None),
        "invalid_argument",
    )
    .await;
    rejects_with(v.wait_for_payment(TRANSFER, "p1", o(r#"{"intervalMs": 0}"#)), "invalid_argument").await;

    // transactions() throws synchronously for bad options.
    for opts in [
        r#"{"dateFrom": "2024-13-01"}"#,
        r#"{"dateTo": "24-01-01"}"#,
        r#"{"dateFrom": "2024-02-01", "dateTo": "2024-01-31"}"#,
        r#"{"bookingStatus": "everything"}"#,
    ] {
        let e = v.transactions("a1", o(opts)).expect_err(opts);
        assert_eq!(s(&e, "code"), "invalid_argument", "{opts}");
    }
    assert!(v.transactions("", None).is_err());
    assert!(v.login_url(o(r#"{"returnTo": "//evil.example/"}"#)).is_err());
    assert!(v.login_url(o(r#"{"returnTo": "https://evil.example/"}"#)).is_err());
    assert!(Valv::new(o(r#"{"retries": -1}"#)).is_err());
    assert!(Valv::new(o(r#"{"timeoutMs": "soon"}"#)).is_err());
}

#[wasm_bindgen_test]
fn offline_a_login_returns_to_this_page_by_default() {
    let v = dead_client(0);
    let url = v.login_url(None).expect("login url");
    let here = page_address();
    assert!(here.starts_with('/'), "{here}");
    assert_eq!(return_to_of(&url).as_deref(), Some(here.as_str()), "{url}");
    // A returnTo given wins.
    assert_eq!(return_to_of(&v.login_url(o(r#"{"returnTo": "/a?b=1#c"}"#)).expect("url")).as_deref(), Some("/a?b=1#c"));
}

#[wasm_bindgen_test]
async fn offline_errors_are_real_error_objects() {
    let v = dead_client(0);
    let e = rejects_with(v.account("", None), "invalid_argument").await;
    assert!(stack_of(&e).contains("ValvError"), "stack: {}", stack_of(&e));
    assert_eq!(get(&e, "status").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
async fn offline_network_errors_and_retries() {
    for retries in [0, 1] {
        let v = dead_client(retries);
        let e = rejects_with(v.accounts(None), "network").await;
        assert_eq!(get(&e, "status").as_f64(), Some(0.0));
        assert!(is_uuid_v4(&s(&e, "requestId")), "{}", describe(&e));
    }
}

#[wasm_bindgen_test]
async fn offline_abort_and_iterator_shape() {
    let v = dead_client(2);
    rejects_with(v.accounts(with_signal("{}", &aborted_signal())), "aborted").await;
    rejects_with(v.templates(with_signal("{}", &aborted_signal())), "aborted").await;
    let pages = v.transactions("acc 1", None).expect("iterator");
    assert!(is_async_iterable(&pages));
    let url = v.login_url(o(r#"{"returnTo": "/app?x=1", "scopes": ["psd2_accounts"], "loginHint": "9311219639"}"#)).expect("url");
    assert_eq!(url, "http://127.0.0.1:9/auth/login?provider=seb&returnTo=%2Fapp%3Fx%3D1&scope=psd2_accounts&login_hint=9311219639");
}

// ---------------------------------------------------------------- live

#[wasm_bindgen_test]
async fn live_login_session_and_account_information() {
    let valv = live_client("");
    let events = recorder();
    let _unsubscribe = valv.on_session_change(events.clone());
    login(&valv).await;
    expect_event(&events, "login").await;

    // The return from the bank's login page (login() left its mark in sessionStorage): a new
    // client on the new page hears `login` from its first session(), once.
    set_login_mark();
    let returned = live_client("");
    let heard = recorder();
    let _unsubscribe_returned = returned.on_session_change(heard.clone());
    ok(returned.session(None)).await;
    assert!(!has_login_mark(), "the mark is taken");
    assert_eq!(s(&ok(next_event(&heard)).await, "type"), "login");
    ok(returned.session(None)).await;
    assert_eq!(event_count(&heard), 0, "a second session() is no new login");
    // Without the mark, a new client that finds a session is not told of a login.
    let fresh = live_client("");
    let quiet = recorder();
    let _unsubscribe_fresh = fresh.on_session_change(quiet.clone());
    ok(fresh.session(None)).await;
    assert_eq!(event_count(&quiet), 0, "no mark, no login");
    // session(): provider and scopes, never a token-looking member
    let session = ok(valv.session(None)).await;
    assert_eq!(s(&session, "provider"), "seb");
    for key in ["accessToken", "access_token", "refreshToken", "refresh_token", "token"] {
        assert!(get(&session, key).is_undefined(), "{key} in session");
    }

    let accounts = Array::from(&ok(valv.accounts(o(r#"{"withBalance": true}"#))).await);
    assert!(accounts.length() > 0);
    let first = accounts.get(0);
    let balances = Array::from(&get(&first, "balances"));
    assert!(balances.length() > 0, "withBalance gives balances");
    let amount = get(&get(&balances.get(0), "balanceAmount"), "amount");
    assert!(amount.is_string(), "amounts are strings");

    let id = s(&first, "resourceId");
    let account = ok(valv.account(&id, None)).await;
    assert_eq!(s(&account, "resourceId"), id);
    let balances = Array::from(&ok(valv.balances(&id, None)).await);
    assert!(balances.length() > 0);

    // escape hatch
    let raw = ok(valv.request("GET", &format!("{AIS}/accounts"), None, None)).await;
    assert!(Array::is_array(&get(&raw, "accounts")));

    // bank errors pass through with the bank's status and body
    let e = rejects_with(valv.account("no-such-account", None), "bank_error").await;
    let status = get(&e, "status").as_f64().unwrap_or(0.0);
    assert!(status == 403.0 || status == 404.0, "{}", describe(&e));
    assert!(js_sys::JSON::stringify(&get(&e, "body")).ok().and_then(|x| x.as_string()).unwrap_or_default().contains("RESOURCE_UNKNOWN"));
    assert!(is_uuid_v4(&s(&e, "requestId")));
}

#[wasm_bindgen_test]
async fn live_transactions_page_through_next_links() {
    let valv = live_client("");
    login(&valv).await;
    let id = first_account(&valv).await;
    let iterable = valv.transactions(&id, o(r#"{"bookingStatus": "booked"}"#)).expect("iterator");
    let pages = Array::from(&ok(collect_pages(&iterable, 50)).await);
    assert!(pages.length() >= 2, "the test person's first account has several pages");
    let mut ids = std::collections::BTreeSet::new();
    let mut total = 0;
    for page in pages.iter() {
        let booked = Array::from(&get(&get(&page, "transactions"), "booked"));
        for t in booked.iter() {
            total += 1;
            assert!(get(&get(&t, "transactionAmount"), "amount").is_string());
            let tid = s(&t, "transactionId");
            if !tid.is_empty() {
                assert!(ids.insert(tid), "pages do not repeat transactions");
            }
        }
    }
    assert!(total > 199, "more than one full page of booked transactions ({total})");
    // The last page has no next link.
    let last = pages.get(pages.length() - 1);
    assert!(get(&get(&last, "_links"), "next").is_undefined());

    // transaction details
    let any = ids.iter().next().expect("a transaction id").clone();
    let details = ok(valv.transaction(&id, &any, None)).await;
    assert!(get(&get(&details, "transactionAmount"), "amount").is_string());

    // a dated call is one page
    let dated =
        valv.transactions(&id, o(r#"{"bookingStatus": "booked", "dateFrom": "2000-01-01", "dateTo": "2099-12-31"}"#)).expect("iterator");
    let dated_pages = Array::from(&ok(collect_pages(&dated, 50)).await);
    assert_eq!(dated_pages.length(), 1);
}

#[wasm_bindgen_test]
async fn live_payment_through_sca_to_a_final_status() {
    let valv = live_client("");
    login(&valv).await;
    let templates = ok(valv.templates(None)).await;
    assert!(js_sys::JSON::stringify(&templates).ok().and_then(|x| x.as_string()).unwrap_or_default().contains(TRANSFER));

    let debtor = debtor_iban(&valv).await;
    let amount = unique_amount();
    let created = ok(valv.initiate_payment(TRANSFER, payment_json(&debtor, &amount), None)).await;
    let payment_id = s(&created, "paymentId");
    assert!(!payment_id.is_empty());
    let payment = ok(valv.payment(TRANSFER, &payment_id, None)).await;
    assert_eq!(s(&get(&payment, "instructedAmount"), "amount"), amount);
    let status = ok(valv.payment_status(TRANSFER, &payment_id, None)).await;
    assert!(!s(&status, "transactionStatus").is_empty());

    let auth = ok(valv.start_authorisation(TRANSFER, &payment_id, None)).await;
    let auth_id = s(&auth, "authorisationId");
    assert!(!auth_id.is_empty(), "authorisation id");
    let auth_state = ok(valv.authorisation_status(TRANSFER, &payment_id, &auth_id, None)).await;
    assert!(!s(&auth_state, "scaStatus").is_empty());

    let fin =
        ok(valv.wait_for_payment(TRANSFER, &payment_id, o(r#"{"intervalMs": 200, "maxIntervalMs": 1000, "timeoutMs": 60000}"#))).await;
    let final_status = s(&fin, "transactionStatus");
    assert!(["ACSC", "ACCC"].contains(&final_status.as_str()), "final status {final_status}");

    // funds confirmation
    let funds = ok(valv.funds_confirmation(
        obj(&format!(r#"{{"account": {{"iban": "{debtor}"}}, "instructedAmount": {{"amount": "1.00", "currency": "SEK"}}}}"#)),
        None,
    ))
    .await;
    assert!(get(&funds, "fundsAvailable").as_bool().is_some());
}

#[wasm_bindgen_test]
async fn live_cancel_payment_and_abort_waiting() {
    let valv = live_client("");
    login(&valv).await;
    let debtor = debtor_iban(&valv).await;
    let created = ok(valv.initiate_payment(TRANSFER, payment_json(&debtor, &unique_amount()), None)).await;
    let payment_id = s(&created, "paymentId");
    // waiting on an unsigned payment never ends by itself: the signal stops it
    rejects_with(valv.wait_for_payment(TRANSFER, &payment_id, with_signal(r#"{"intervalMs": 100}"#, &abort_later(300))), "aborted").await;
    // and waitForPayment's own timeout
    rejects_with(valv.wait_for_payment(TRANSFER, &payment_id, o(r#"{"intervalMs": 100, "timeoutMs": 300}"#)), "timeout").await;
    ok(valv.cancel_payment(TRANSFER, &payment_id, None)).await;
    let status = ok(valv.payment_status(TRANSFER, &payment_id, None)).await;
    assert_eq!(s(&status, "transactionStatus"), "CANC");
}

#[wasm_bindgen_test]
async fn live_timeout_retry_and_no_retry_of_posts() {
    let valv = live_client(r#", "timeoutMs": 500, "retries": 2"#);
    login(&valv).await;
    let accounts_path = format!("{AIS}/accounts");

    // timeout: the bank answers after 3 s, the client gives up after 0.5 s (timeouts are not retried)
    sandbox_control(CONTROL_LATENCY, &format!(r#"{{"method": "GET", "path": "{accounts_path}", "ms": 3000, "count": 1}}"#)).await;
    rejects_with(valv.accounts(None), "timeout").await;

    // one injected 503 on a GET: retried, the call succeeds
    let patient = live_client(r#", "retries": 2"#);
    sandbox_control(CONTROL_FAILURES, &format!(r#"{{"method": "GET", "path": "{accounts_path}", "status": 503, "count": 1}}"#)).await;
    let accounts = Array::from(&ok(patient.accounts(None)).await);
    assert!(accounts.length() > 0);

    // 429 with Retry-After: 1 is honoured and retried
    sandbox_control(
        CONTROL_FAILURES,
        &format!(r#"{{"method": "GET", "path": "{accounts_path}", "status": 429, "count": 1, "retryAfter": 1}}"#),
    )
    .await;
    ok(patient.accounts(None)).await;

    // one injected 503 on the payment POST: not retried, the caller sees the 503
    let debtor = debtor_iban(&patient).await;
    sandbox_control(
        CONTROL_FAILURES,
        &format!(r#"{{"method": "POST", "path": "/pis/v7/identified2/payments/{TRANSFER}", "status": 503, "count": 1}}"#),
    )
    .await;
    let e = rejects(patient.initiate_payment(TRANSFER, payment_json(&debtor, &unique_amount()), None)).await;
    assert_eq!(get(&e, "status").as_f64(), Some(503.0), "{}", describe(&e));
    // a retrying client would have succeeded on the second attempt; prove the failure was used up once
    ok(patient.initiate_payment(TRANSFER, payment_json(&debtor, &unique_amount()), None)).await;

    // A payment aborted right after the call (in the same task) is never sent: the failure
    // injected for the next payment POST is still there for the call after it.
    sandbox_control(
        CONTROL_FAILURES,
        &format!(r#"{{"method": "POST", "path": "/pis/v7/identified2/payments/{TRANSFER}", "status": 503, "count": 1}}"#),
    )
    .await;
    let controller = new_controller();
    let aborted = patient.initiate_payment(TRANSFER, payment_json(&debtor, &unique_amount()), with_signal("{}", &signal_of(&controller)));
    abort_now(&controller);
    rejects_with(aborted, "aborted").await;
    let e = rejects(patient.initiate_payment(TRANSFER, payment_json(&debtor, &unique_amount()), None)).await;
    assert_eq!(get(&e, "status").as_f64(), Some(503.0), "the aborted payment reached the bank: {}", describe(&e));
}

#[wasm_bindgen_test]
async fn live_broker_error_codes() {
    let valv = live_client("");
    login(&valv).await;
    // route_not_allowed: a method + path outside the allowlist
    rejects_with(valv.request("PATCH", "/pis/v7/identified2/payments/mock/resetall", None, None), "route_not_allowed").await;
    // csrf: the client always sends the header; a raw request without it is refused
    let raw = Array::from(&ok(raw_fetch(&format!("{}/api/seb{AIS}/accounts", broker()), &Object::new())).await);
    assert_eq!(raw.get(0).as_f64(), Some(403.0));
    assert!(raw.get(1).as_string().unwrap_or_default().contains("\"csrf\""));
    // unauthenticated after logout, for the API and for logout's own CSRF-protected POST
    ok(valv.logout(None)).await;
    rejects_with(valv.accounts(None), "unauthenticated").await;
    let session = ok(valv.session(None)).await;
    assert_eq!(get(&session, "authenticated").as_bool(), Some(false));
}

#[wasm_bindgen_test]
async fn live_session_expired_after_the_bank_revokes_the_grant() {
    let valv = live_client("");
    let events = recorder();
    let _unsubscribe = valv.on_session_change(events.clone());
    login(&valv).await;
    expect_event(&events, "login").await;
    sandbox_control(CONTROL_REVOKE, &format!(r#"{{"personalIdentityNumber": "{PERSON}"}}"#)).await;
    let e = rejects_with(valv.accounts(None), "session_expired").await;
    assert_eq!(get(&e, "status").as_f64(), Some(401.0));
    let expired = expect_event(&events, "expired").await;
    assert_eq!(s(&expired, "code"), "session_expired");
}

#[wasm_bindgen_test]
async fn live_session_changes_reach_other_tabs() {
    // Two clients stand for two tabs: B hears A's logout only through the BroadcastChannel.
    let a = live_client("");
    let b = live_client("");
    login(&a).await;
    ok(b.session(None)).await;
    let events = recorder();
    let unsubscribe = b.on_session_change(events.clone());
    ok(a.logout(None)).await;
    let e = ok(next_event(&events)).await;
    assert_eq!(s(&e, "type"), "logout");
    assert_eq!(get(&e, "authenticated").as_bool(), Some(false));
    // After unsubscribing, nothing more arrives. A second listener that stays subscribed
    // shows when the next change has been delivered (listeners run in order, synchronously).
    unsubscribe.unchecked_ref::<js_sys::Function>().call0(&JsValue::UNDEFINED).expect("unsubscribe");
    let witness = recorder();
    let _keep = b.on_session_change(witness.clone());
    login(&a).await;
    let e = ok(next_event(&witness)).await;
    assert_eq!(s(&e, "type"), "login");
    assert_eq!(event_count(&events), 0);
}

#[wasm_bindgen_test]
async fn live_javascript_never_sees_a_token() {
    let valv = live_client("");
    login(&valv).await;
    let mut seen = Vec::new();
    let id = first_account(&valv).await;
    seen.push(ok(valv.session(None)).await);
    seen.push(ok(valv.accounts(o(r#"{"withBalance": true}"#))).await);
    seen.push(ok(valv.balances(&id, None)).await);
    let pages = valv.transactions(&id, None).expect("iterator");
    seen.push(ok(collect_pages(&pages, 3)).await);
    seen.push(ok(valv.templates(None)).await);
    seen.push(rejects(valv.account("no-such-account", None)).await);
    let mut exposed =
        seen.iter().map(|v| js_sys::JSON::stringify(v).ok().and_then(|x| x.as_string()).unwrap_or_default()).collect::<Vec<_>>().join("\n");
    exposed.push_str(&storage_dump());
    // The sandbox's test controls list the tokens it issued to the test person.
    let issued = ok(control_get(sandbox(), &format!("{CONTROL_TOKENS}?personalIdentityNumber={PERSON}"))).await;
    let mut checked = 0;
    for t in Array::from(&issued).iter() {
        for key in ["accessToken", "refreshToken"] {
            let token = s(&t, key);
            if token.len() >= 16 {
                checked += 1;
                assert!(!exposed.contains(&token), "a {key} reached JavaScript");
            }
        }
    }
    assert!(checked > 0, "the sandbox reported no tokens to compare against");
}

/// Options (`bankIdLogin`'s, `signPayment`'s) with `onUpdate` and an optional `signal`.
fn update_options<T: tsify::Tsify>(json: &str, on_update: &js_sys::Function, signal: Option<&JsValue>) -> Option<Ts<T>> {
    let v = obj(json);
    Reflect::set(&v, &"onUpdate".into(), on_update).expect("set onUpdate");
    if let Some(sig) = signal {
        Reflect::set(&v, &"signal".into(), sig).expect("set signal");
    }
    Some(Ts::new_unchecked(v))
}

/// `bankIdLogin` options.
fn bank_id_options(json: &str, on_update: &js_sys::Function, signal: Option<&JsValue>) -> Option<Ts<valv_client::options::BankIdOptions>> {
    update_options(json, on_update, signal)
}

/// The autostart token of a BankID update's `autoStartUrl`.
fn autostart_token(update: &JsValue) -> String {
    let url = s(update, "autoStartUrl");
    assert!(url.starts_with("bankid:///?autostarttoken=") && url.ends_with("&redirect=null"), "{url}");
    url["bankid:///?autostarttoken=".len()..url.len() - "&redirect=null".len()].to_owned()
}

#[wasm_bindgen_test]
async fn live_bankid_login_shows_animated_qr_codes_and_ends_with_a_session() {
    let valv = live_client("");
    if get(&ok(valv.session(None)).await, "authenticated").as_bool() == Some(true) {
        ok(valv.logout(None)).await;
    }
    let events = recorder();
    let _unsubscribe = valv.on_session_change(events.clone());
    let updates = recorder();
    let login = valv.bank_id_login(bank_id_options(r#"{"scopes": ["psd2_accounts"], "returnTo": "/healthz"}"#, &updates, None));
    let first = ok(next_event(&updates)).await;
    assert_eq!(s(&first, "status"), "pending");
    assert_eq!(s(&first, "hintCode"), "outstandingTransaction");
    assert!(s(&first, "message").contains("BankID"), "{}", s(&first, "message"));
    let svg = s(&first, "qrSvg");
    assert!(svg.starts_with("<svg") && svg.contains("viewBox"), "{svg}");
    // About a second later the QR code is another one.
    let second = ok(next_event(&updates)).await;
    let mut later = second;
    for _ in 0..4 {
        if s(&later, "qrSvg") != svg {
            break;
        }
        later = ok(next_event(&updates)).await;
    }
    assert_ne!(s(&later, "qrSvg"), svg, "the QR code is animated");

    // The phone signs.
    sandbox_control(
        "/__sandbox/decoupled/sign",
        &format!(r#"{{"personalIdentityNumber": "{PERSON}", "autostartToken": "{}"}}"#, autostart_token(&first)),
    )
    .await;
    let session = ok(login).await;
    assert_eq!(get(&session, "authenticated").as_bool(), Some(true));
    assert_eq!(Array::from(&get(&session, "scopes")).to_vec(), vec![JsValue::from_str("psd2_accounts")]);
    expect_event(&events, "login").await;
    assert!(Array::from(&ok(valv.accounts(None)).await).length() > 0, "the session serves API calls");
    assert!(!storage_dump().contains("bankid."), "no QR data or token kept in page storage");
    ok(valv.logout(None)).await;
}

#[wasm_bindgen_test]
async fn live_bankid_login_fails_with_bankids_message_and_stops_on_abort() {
    let valv = live_client("");
    let updates = recorder();
    let login = valv.bank_id_login(bank_id_options("{}", &updates, None));
    let first = ok(next_event(&updates)).await;
    assert_eq!(s(&first, "status"), "pending");
    sandbox_control("/__sandbox/decoupled/fail", r#"{"hintCode": "userCancel"}"#).await;
    let e = rejects_with(login, "login_failed").await;
    assert_eq!(s(&e, "message"), "Action cancelled.");
    assert_eq!(s(&get(&e, "body"), "hintCode"), "userCancel");

    // A hint code nobody knows yet still ends the login, with BankID's generic text.
    let updates = recorder();
    let login = valv.bank_id_login(bank_id_options("{}", &updates, None));
    assert_eq!(s(&ok(next_event(&updates)).await, "status"), "pending");
    sandbox_control("/__sandbox/decoupled/fail", r#"{"hintCode": "somethingNew"}"#).await;
    let e = rejects_with(login, "login_failed").await;
    assert_eq!(s(&get(&e, "body"), "hintCode"), "somethingNew");
    assert_eq!(s(&e, "message"), "Unknown error. Please try again.");

    // Aborted by the page while it waits: rejected `aborted` (the client then forgets the login at the broker).
    let signal = abort_later(700);
    let e = rejects_with(valv.bank_id_login(bank_id_options("{}", &updates, Some(&signal))), "aborted").await;
    assert!(s(&e, "message").contains("aborted"));
    rejects_with(valv.bank_id_login(o(r#"{"returnTo": "https://evil.example/"}"#)), "invalid_argument").await;
    rejects_with(valv.bank_id_login(o(r#"{"onUpdate": 3}"#)), "invalid_argument").await;
}

/// `signPayment` options.
fn sign_options(json: &str, on_update: &js_sys::Function, signal: Option<&JsValue>) -> Option<Ts<valv_client::options::SignOptions>> {
    update_options(json, on_update, signal)
}

/// A new unsigned payment of the logged-in test person.
async fn new_payment(valv: &Valv) -> String {
    let debtor = debtor_iban(valv).await;
    s(&ok(valv.initiate_payment(TRANSFER, payment_json(&debtor, &unique_amount()), None)).await, "paymentId")
}

#[wasm_bindgen_test]
async fn live_sign_payment_with_bankid_shows_animated_qr_codes_until_the_owner_signs() {
    let valv = live_client("");
    login(&valv).await;
    let payment_id = new_payment(&valv).await;
    let updates = recorder();
    let signing = valv.sign_payment(TRANSFER, &payment_id, sign_options("{}", &updates, None));
    let first = ok(next_event(&updates)).await;
    assert_eq!(s(&first, "status"), "pending");
    assert!(s(&first, "message").contains("scan this QR code"), "{}", s(&first, "message"));
    let svg = s(&first, "qrSvg");
    assert!(svg.starts_with("<svg") && svg.contains("viewBox"), "{svg}");
    let mut later = ok(next_event(&updates)).await;
    for _ in 0..4 {
        if s(&later, "qrSvg") != svg {
            break;
        }
        later = ok(next_event(&updates)).await;
    }
    assert_ne!(s(&later, "qrSvg"), svg, "the QR code is animated");
    // Unsigned, the payment waits.
    assert_eq!(s(&ok(valv.payment_status(TRANSFER, &payment_id, None)).await, "transactionStatus"), "RCVD");

    // The owner's phone signs.
    sandbox_control(
        "/__sandbox/decoupled/sign",
        &format!(r#"{{"personalIdentityNumber": "{PERSON}", "autostartToken": "{}"}}"#, autostart_token(&first)),
    )
    .await;
    let auth = ok(signing).await;
    assert_eq!(s(&auth, "scaStatus"), "finalised");
    let mut last = ok(next_event(&updates)).await;
    while s(&last, "status") == "pending" {
        last = ok(next_event(&updates)).await;
    }
    assert_eq!((s(&last, "status"), s(&last, "message")), ("complete".to_owned(), "The payment is signed.".to_owned()));
    let fin = ok(valv.wait_for_payment(TRANSFER, &payment_id, o(r#"{"intervalMs": 200, "timeoutMs": 30000}"#))).await;
    assert_eq!(s(&fin, "transactionStatus"), "ACSC");
}

#[wasm_bindgen_test]
async fn live_sign_payment_rejects_sca_failed_when_cancelled_and_stops_on_abort_or_timeout() {
    let valv = live_client("");
    login(&valv).await;
    let payment_id = new_payment(&valv).await;
    let updates = recorder();
    let signing =
        valv.sign_payment(TRANSFER, &payment_id, sign_options(r#"{"authenticationMethodId": "bankIdSameDevice"}"#, &updates, None));
    let first = ok(next_event(&updates)).await;
    assert_eq!(s(&first, "message"), "Trying to start your BankID app.");
    assert!(get(&first, "qrSvg").is_undefined(), "no QR code on this device");
    sandbox_control(
        "/__sandbox/decoupled/fail",
        &format!(r#"{{"hintCode": "userCancel", "autostartToken": "{}"}}"#, autostart_token(&first)),
    )
    .await;
    let e = rejects_with(signing, "sca_failed").await;
    assert!(s(&e, "message").contains("cancelled"), "{}", s(&e, "message"));
    assert_eq!(s(&get(&e, "body"), "scaStatus"), "failed");

    // The payment can be signed again; the page stops following it, or gives up in time.
    let e = rejects_with(valv.sign_payment(TRANSFER, &payment_id, sign_options("{}", &updates, Some(&abort_later(700)))), "aborted").await;
    assert!(s(&e, "message").contains("aborted"));
    rejects_with(valv.sign_payment(TRANSFER, &payment_id, o(r#"{"timeoutMs": 300}"#)), "timeout").await;
    rejects_with(valv.sign_payment(TRANSFER, &payment_id, o(r#"{"timeoutMs": -1}"#)), "invalid_argument").await;
    rejects_with(valv.sign_payment(TRANSFER, "", None), "invalid_argument").await;
}
