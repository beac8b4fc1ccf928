//! The JavaScript surface: the `Valv` class and its request pipeline.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortSignal, BroadcastChannel, Headers, MessageEvent, RequestCredentials, RequestInit, Response};

use crate::error::{bank_message, classify, status_message, BankErrorFields, BodyFields, ErrorCode};
use crate::options::{
    AccountsOptions, AuthorisationOptions, BankIdOptions, CallOptions, FromJs, LoginOptions, Reader, SignOptions, TransactionsOptions,
    ValvOptions, WaitOptions,
};
use crate::paths::{self, Query, AIS, COF, PIS};
use crate::retry::{parse_retry_after, Outcome, RetryPolicy};
use crate::{bankid, poll, validate};
use valv_wire::{header, BankIdStatus};

#[wasm_bindgen(typescript_custom_section)]
const MODELS: &'static str = include_str!("models.d.ts");

#[wasm_bindgen(module = "/js/valv.js")]
extern "C" {
    #[wasm_bindgen(js_name = ValvError)]
    type JsValvError;

    #[wasm_bindgen(constructor, js_class = "ValvError")]
    fn new(message: &str, code: &str, status: u16, request_id: Option<String>, body: &JsValue) -> JsValvError;

    #[wasm_bindgen(js_name = send)]
    fn js_send(url: &str, init: &RequestInit, timeout_ms: f64, signal: Option<AbortSignal>) -> Promise;

    #[wasm_bindgen(js_name = sleep)]
    fn js_sleep(ms: f64, signal: Option<AbortSignal>) -> Promise;

    #[wasm_bindgen(js_name = parseJson)]
    fn parse_json(text: &str) -> JsValue;

    #[wasm_bindgen(js_name = iterable)]
    fn js_iterable(pages: JsValue) -> JsValue;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);

    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn now_ms() -> f64;
}

/// Name of the `BroadcastChannel` that carries session changes between tabs.
const CHANNEL: &str = "valv-session";
/// `sessionStorage` key set by `login()` so the return from the bank reports `login`.
const LOGIN_MARK: &str = "valv:login-pending";

/// A failure on its way to becoming a JS `ValvError`.
struct Failure {
    code: ErrorCode,
    message: Cow<'static, str>,
    status: u16,
    request_id: Option<String>,
    body: JsValue,
}

impl Failure {
    fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self { code, message: message.into(), status: 0, request_id: None, body: JsValue::UNDEFINED }
    }

    fn invalid(e: validate::Invalid) -> Self {
        Self::new(ErrorCode::InvalidArgument, e.0)
    }

    fn into_js(self) -> JsValue {
        JsValvError::new(&self.message, self.code.as_str(), self.status, self.request_id, &self.body).into()
    }
}

impl From<validate::Invalid> for Failure {
    fn from(e: validate::Invalid) -> Self {
        Self::invalid(e)
    }
}

type Res<T = JsValue> = Result<T, Failure>;

fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn get_str(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key).as_string()
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Setting a plain data property on a fresh object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    get_random_values(&mut bytes);
    paths::uuid_v4(bytes)
}

/// Options are optional; a present but malformed object is an `invalid_argument`.
fn opts<T: FromJs + tsify::Tsify>(o: Option<Ts<T>>) -> Res<T>
where
    <T as tsify::Tsify>::JsType: JsCast,
{
    let Some(o) = o else {
        return Ok(T::default());
    };
    let v = o.js_value();
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    if !v.is_object() {
        return Err(Failure::new(ErrorCode::InvalidArgument, "options must be an object"));
    }
    Ok(T::read(&Reader(&v))?)
}

/// The `BroadcastChannel` message handler, kept alive as long as the client.
type MessageHandler = Closure<dyn FnMut(MessageEvent)>;

/// Shared state of one `Valv` instance.
struct Inner {
    base_url: String,
    provider: String,
    timeout_ms: f64,
    policy: RetryPolicy,
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
    authenticated: Cell<Option<bool>>,
    channel: Option<BroadcastChannel>,
    on_message: RefCell<Option<MessageHandler>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(c) = &self.channel {
            c.set_onmessage(None);
            c.close();
        }
    }
}

/// Where a request goes.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// `{baseUrl}/api/{provider}{path}`.
    Api(&'a str),
    /// `{baseUrl}{path}` (the broker's `/auth/…`).
    Broker(&'a str),
}

impl Inner {
    fn url(&self, target: Target<'_>) -> String {
        match target {
            Target::Api(p) => paths::api_url(&self.base_url, &self.provider, p),
            Target::Broker(p) => paths::broker_url(&self.base_url, p),
        }
    }

    /// Sends a request with timeout, cancellation and retries; resolves with the parsed
    /// JSON body (`null` when empty, the text when not JSON).
    async fn call(&self, method: &str, target: Target<'_>, body: Option<&str>, signal: Option<AbortSignal>) -> Res {
        let url = self.url(target);
        let path = match target {
            Target::Api(p) | Target::Broker(p) => p,
        };
        let mut retry = 0u32;
        loop {
            let request_id = new_request_id();
            let init = RequestInit::new();
            init.set_method(method);
            init.set_credentials(RequestCredentials::Include);
            let headers = Headers::new().map_err(|_| Failure::new(ErrorCode::Internal, "Headers is not available"))?;
            let _ = headers.set("Accept", "application/json");
            let _ = headers.set(header::CSRF, header::CSRF_VALUE);
            let _ = headers.set(header::REQUEST_ID, &request_id);
            if let Some(b) = body {
                let _ = headers.set("Content-Type", "application/json");
                init.set_body(&JsValue::from_str(b));
            }
            init.set_headers(&headers);

            let (outcome, retry_after, failure) = match JsFuture::from(js_send(&url, &init, self.timeout_ms, signal.clone())).await {
                Ok(pair) => {
                    let pair: Array = pair.unchecked_into();
                    let response: Response = pair.get(0).unchecked_into();
                    let text = pair.get(1).as_string().unwrap_or_default();
                    let status = response.status();
                    if (200..300).contains(&status) {
                        return Ok(match parse_json(&text) {
                            v if v.is_undefined() => JsValue::from_str(&text),
                            v => v,
                        });
                    }
                    let retry_after = response.headers().get("Retry-After").ok().flatten().and_then(|v| parse_retry_after(&v));
                    (Outcome::Status(status), retry_after, response_failure(&response, &text, request_id))
                }
                Err(tag) => {
                    let (outcome, f) = match tag.as_string().as_deref() {
                        Some("timeout") => (Outcome::Timeout, Failure::new(ErrorCode::Timeout, "the request timed out")),
                        Some("aborted") => (Outcome::Aborted, Failure::new(ErrorCode::Aborted, "the request was aborted")),
                        _ => (Outcome::NetworkError, Failure::new(ErrorCode::Network, "the broker could not be reached")),
                    };
                    (outcome, None, Failure { request_id: Some(request_id), ..f })
                }
            };
            let delay = self.policy.delay_ms(method, path, outcome, retry, retry_after, js_sys::Math::random());
            match delay {
                Some(ms) => {
                    if JsFuture::from(js_sleep(f64::from(ms), signal.clone())).await.is_err() {
                        return Err(Failure::new(ErrorCode::Aborted, "the request was aborted"));
                    }
                    retry += 1;
                }
                None => {
                    if failure.code.ends_session() {
                        self.session_ended(failure.code);
                    }
                    return Err(failure);
                }
            }
        }
    }

    // ---- session events ----

    fn emit(&self, event: &JsValue) {
        let listeners: Vec<Function> = self.listeners.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            // A throwing listener must not stop the others or the caller.
            let _ = f.call1(&JsValue::UNDEFINED, event);
        }
    }

    fn change(&self, kind: &str, authenticated: bool, code: Option<ErrorCode>) {
        self.authenticated.set(Some(authenticated));
        let event = Object::new();
        set(&event, "type", &JsValue::from_str(kind));
        set(&event, "authenticated", &JsValue::from_bool(authenticated));
        if let Some(c) = code {
            set(&event, "code", &JsValue::from_str(c.as_str()));
        }
        if let Some(ch) = &self.channel {
            let _ = ch.post_message(&event);
        }
        self.emit(&event);
    }

    fn session_ended(&self, code: ErrorCode) {
        if self.authenticated.get() != Some(false) {
            self.change("expired", false, Some(code));
        }
    }

    fn observe_session(&self, authenticated: bool) {
        let pending = take_login_mark();
        let previous = self.authenticated.get();
        if authenticated && (pending || previous == Some(false)) {
            self.change("login", true, None);
        } else if !authenticated && previous == Some(true) {
            self.change("expired", false, Some(ErrorCode::Unauthenticated));
        } else {
            self.authenticated.set(Some(authenticated));
        }
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn take_login_mark() -> bool {
    match session_storage() {
        Some(s) => {
            let present = s.get_item(LOGIN_MARK).ok().flatten().is_some();
            if present {
                let _ = s.remove_item(LOGIN_MARK);
            }
            present
        }
        None => false,
    }
}

/// Builds the `ValvError` for a non-2xx response.
fn response_failure(response: &Response, text: &str, sent_id: String) -> Failure {
    let status = response.status();
    let parsed = parse_json(text);
    let error = get_str(&parsed, "error");
    let message = get_str(&parsed, "message");
    let body_id = get_str(&parsed, "requestId");
    let code = classify(&BodyFields { error: error.as_deref(), message: message.as_deref(), request_id: body_id.as_deref() });
    let header_id = response.headers().get(header::REQUEST_ID).ok().flatten();
    let request_id = body_id.or(header_id).or(Some(sent_id));
    let body = if parsed.is_undefined() { JsValue::from_str(text) } else { parsed };
    let message: Cow<'static, str> = if code == ErrorCode::BankError {
        let detail = get_str(&body, "detail");
        let title = get_str(&body, "title");
        let first_tpp = get(&body, "tppMessages");
        let first_tpp = if Array::is_array(&first_tpp) { Array::from(&first_tpp).get(0) } else { JsValue::UNDEFINED };
        let tpp = first_tpp.as_string().or_else(|| get_str(&first_tpp, "text"));
        let fields = BankErrorFields { detail: detail.as_deref(), title: title.as_deref(), tpp_text: tpp.as_deref() };
        if fields == BankErrorFields::default() {
            Cow::Borrowed(status_message(status))
        } else {
            Cow::Owned(bank_message(&fields).to_owned())
        }
    } else {
        Cow::Owned(message.unwrap_or_default())
    };
    Failure { code, message, status, request_id, body }
}

/// Client for a Valv broker: typed PSD2 calls with the session cookie, never a token.
///
/// ```js
/// const valv = new Valv({ baseUrl: "", provider: "seb" });
/// ```
#[wasm_bindgen]
pub struct Valv {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Valv {
    /// Creates a client. `baseUrl` is the broker's origin (`""` = this page's origin),
    /// `provider` the broker's provider name (`"seb"`), `timeoutMs` the per-attempt
    /// timeout (30000), `retries` the retries of idempotent requests (2).
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<Ts<ValvOptions>>) -> Result<Valv, JsValue> {
        let o = opts(options).map_err(Failure::into_js)?;
        let provider = o.provider.unwrap_or_else(|| "seb".to_owned());
        if provider.is_empty() {
            return Err(Failure::new(ErrorCode::InvalidArgument, "provider must not be empty").into_js());
        }
        let timeout_ms = o.timeout_ms.unwrap_or(30_000.0);
        if !timeout_ms.is_finite() || timeout_ms < 0.0 {
            return Err(Failure::new(ErrorCode::InvalidArgument, "timeoutMs must be a non-negative number").into_js());
        }
        let policy = RetryPolicy { retries: retries_option(o.retries).map_err(Failure::into_js)?, ..RetryPolicy::default() };
        let channel = BroadcastChannel::new(CHANNEL).ok();
        let inner = Rc::new(Inner {
            base_url: paths::normalize_base_url(o.base_url.as_deref().unwrap_or("")).to_owned(),
            provider,
            timeout_ms,
            policy,
            listeners: RefCell::new(Vec::new()),
            next_listener: Cell::new(0),
            authenticated: Cell::new(None),
            channel,
            on_message: RefCell::new(None),
        });
        if let Some(ch) = &inner.channel {
            let weak: Weak<Inner> = Rc::downgrade(&inner);
            let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                if let Some(inner) = weak.upgrade() {
                    let data = e.data();
                    if let Some(a) = get(&data, "authenticated").as_bool() {
                        inner.authenticated.set(Some(a));
                        inner.emit(&data);
                    }
                }
            });
            ch.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            *inner.on_message.borrow_mut() = Some(handler);
        }
        Ok(Valv { inner })
    }

    /// The broker session: `{ authenticated, provider, scopes, accessExpiresAt, sessionExpiresAt }`.
    /// Never contains a token. Fires `login` on listeners when the session became authenticated.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn session(&self, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(opts(options).map(|o| Op::Session { signal: o.signal }))
    }

    /// The broker URL that starts a login (what `login()` navigates to).
    #[wasm_bindgen(js_name = loginUrl)]
    pub fn login_url(&self, options: Option<Ts<LoginOptions>>) -> Result<String, JsValue> {
        let o = opts(options).map_err(Failure::into_js)?;
        let return_to = match o.return_to {
            Some(r) => Some(r),
            None => web_sys::window().and_then(|w| {
                let l = w.location();
                Some([l.pathname().ok()?, l.search().ok()?, l.hash().ok()?].concat())
            }),
        };
        let scopes = o.scopes.unwrap_or_default();
        login_args(return_to.as_deref(), &scopes).map_err(Failure::into_js)?;
        Ok(paths::login_url(
            &self.inner.base_url,
            &self.inner.provider,
            return_to.as_deref(),
            &scopes,
            o.login_hint.as_deref().filter(|h| !h.is_empty()),
        ))
    }

    /// Navigates this page to the broker's login (which redirects to the bank).
    pub fn login(&self, options: Option<Ts<LoginOptions>>) -> Result<(), JsValue> {
        let url = self.login_url(options)?;
        if let Some(s) = session_storage() {
            let _ = s.set_item(LOGIN_MARK, "1");
        }
        let window =
            web_sys::window().ok_or_else(|| Failure::new(ErrorCode::InvalidArgument, "login() needs a browser window").into_js())?;
        window.location().assign(&url)
    }

    /// Ends the session at the broker (which revokes at the bank); fires `logout`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(opts(options).map(|o| Op::Logout { signal: o.signal }))
    }

    /// Signs in with Mobile BankID through the broker (the bank's decoupled authorization):
    /// `onUpdate` gets every step — `{ status, hintCode, message, qrSvg, autoStartUrl }`,
    /// with a new QR code about every second — until the person has signed; then the
    /// promise resolves with the new session and `onSessionChange` hears `login`. Rejects
    /// `login_failed` (BankID's message; `err.body.hintCode`), `aborted` on `signal` (the
    /// broker forgets the login), or the broker's errors.
    #[wasm_bindgen(js_name = bankIdLogin, unchecked_return_type = "Promise<Session>")]
    pub fn bank_id_login(&self, options: Option<Ts<BankIdOptions>>) -> Promise {
        self.start(opts(options).and_then(|o| {
            let scopes = o.scopes.unwrap_or_default();
            login_args(o.return_to.as_deref(), &scopes)?;
            let body = Object::new();
            set(&body, "provider", &JsValue::from_str(&self.inner.provider));
            if !scopes.is_empty() {
                set(&body, "scopes", &scopes.iter().map(|s| JsValue::from_str(s)).collect::<Array>());
            }
            if let Some(r) = &o.return_to {
                set(&body, "returnTo", &JsValue::from_str(r));
            }
            let body = stringify(&body, "options")?;
            Ok(Op::BankId { body, on_update: o.on_update, signal: o.signal })
        }))
    }

    /// Calls `callback(change)` on login, logout and expiry, in this tab and the others.
    /// Returns the function that unsubscribes.
    #[wasm_bindgen(js_name = onSessionChange, unchecked_return_type = "() => void")]
    pub fn on_session_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(change: SessionChange) => void")] callback: Function,
    ) -> JsValue {
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id.wrapping_add(1));
        self.inner.listeners.borrow_mut().push((id, callback));
        let weak = Rc::downgrade(&self.inner);
        Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.listeners.borrow_mut().retain(|(i, _)| *i != id);
            }
        })
        .into_js_value()
    }

    /// All accounts (`GET /accounts`), optionally with balances.
    #[wasm_bindgen(unchecked_return_type = "Promise<Account[]>")]
    pub fn accounts(&self, options: Option<Ts<AccountsOptions>>) -> Promise {
        self.start(opts(options).map(|o| {
            let path =
                Query::new().opt("withBalance", o.with_balance.filter(|b| *b).map(|_| "true")).finish(paths::join(AIS, &["accounts"]));
            Op::get(path, o.signal, Pick::Array("accounts"))
        }))
    }

    /// One account's details (`GET /accounts/{id}`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Account>")]
    pub fn account(&self, account_id: &str, options: Option<Ts<AccountsOptions>>) -> Promise {
        self.start(validate::id(account_id, "accountId").map_err(Failure::from).and_then(|_| {
            let o = opts(options)?;
            let path = Query::new()
                .opt("withBalance", o.with_balance.filter(|b| *b).map(|_| "true"))
                .finish(paths::join(AIS, &["accounts", account_id]));
            Ok(Op::get(path, o.signal, Pick::AccountDetails))
        }))
    }

    /// An account's balances (`GET /accounts/{id}/balances`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Balance[]>")]
    pub fn balances(&self, account_id: &str, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(validate::id(account_id, "accountId").map_err(Failure::from).and_then(|_| {
            let o = opts(options)?;
            let path = paths::join(AIS, &["accounts", account_id, "balances"]);
            Ok(Op::get(path, o.signal, Pick::Array("balances")))
        }))
    }

    /// Pages of an account's transactions, as an async iterator following `_links.next`
    /// (a date-filtered call is one page). Throws `invalid_argument` at once for bad options.
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<TransactionsPage>")]
    pub fn transactions(&self, account_id: &str, options: Option<Ts<TransactionsOptions>>) -> Result<JsValue, JsValue> {
        validate::id(account_id, "accountId").map_err(|e| Failure::from(e).into_js())?;
        let o = opts(options).map_err(Failure::into_js)?;
        let args = validate::transactions(o.booking_status.as_deref(), o.date_from.as_deref(), o.date_to.as_deref())
            .map_err(|e| Failure::from(e).into_js())?;
        let first = Query::new()
            .add("bookingStatus", args.booking_status.as_str())
            .opt("dateFrom", args.date_from.as_deref())
            .opt("dateTo", args.date_to.as_deref())
            .finish(paths::join(AIS, &["accounts", account_id, "transactions"]));
        let pages = TransactionPages {
            inner: self.inner.clone(),
            state: Rc::new(RefCell::new(PagesState { next: Some(first), dated: args.is_dated(), busy: false, seen: Vec::new() })),
            signal: o.signal,
        };
        Ok(js_iterable(pages.into()))
    }

    /// One transaction's details (`GET /accounts/{id}/transactions/{transactionId}`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Transaction>")]
    pub fn transaction(&self, account_id: &str, transaction_id: &str, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(
            validate::id(account_id, "accountId")
                .and_then(|_| validate::id(transaction_id, "transactionId"))
                .map_err(Failure::from)
                .and_then(|_| {
                    let o = opts(options)?;
                    let path = paths::join(AIS, &["accounts", account_id, "transactions", transaction_id]);
                    Ok(Op::get(path, o.signal, Pick::Whole))
                }),
        )
    }

    /// Payment templates (`GET /templates` of Payment Initiation).
    #[wasm_bindgen(unchecked_return_type = "Promise<TemplateSummary[]>")]
    pub fn templates(&self, options: Option<Ts<CallOptions>>) -> Promise {
        self.start(opts(options).map(|o| Op::get(paths::join(PIS, &["templates"]), o.signal, Pick::Whole)))
    }

    /// Initiates a payment (`POST /payments/{product}`); checked against the product's
    /// rules first. Never retried.
    #[wasm_bindgen(
        js_name = initiatePayment,
        unchecked_return_type = "Promise<PaymentInitiationResponse>"
    )]
    pub fn initiate_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        #[wasm_bindgen(unchecked_param_type = "PaymentInitiation")] payment: JsValue,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(validate::product(product).map_err(Failure::from).and_then(|p| {
            object(&payment, "payment")?;
            validate::payment(&p, &Reader(&payment))?;
            let json = stringify(&payment, "payment")?;
            let o = opts(options)?;
            Ok(Op::send("POST", paths::join(PIS, &["payments", product]), Some(json), o.signal))
        }))
    }

    /// A payment as the bank has it (`GET /payments/{product}/{id}`).
    #[wasm_bindgen(unchecked_return_type = "Promise<PaymentInitiation>")]
    pub fn payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(payment_op("GET", product, payment_id, &[], options))
    }

    /// A payment's status (`GET /payments/{product}/{id}/status`).
    #[wasm_bindgen(js_name = paymentStatus, unchecked_return_type = "Promise<PaymentStatusResponse>")]
    pub fn payment_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(payment_op("GET", product, payment_id, &["status"], options))
    }

    /// Cancels a payment (`DELETE /payments/{product}/{id}`): `null` on 204, else the 202 body.
    #[wasm_bindgen(
        js_name = cancelPayment,
        unchecked_return_type = "Promise<PaymentCancellationResponse | null>"
    )]
    pub fn cancel_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(payment_op("DELETE", product, payment_id, &[], options))
    }

    /// Starts SCA for a payment (`POST /payments/{product}/{id}/authorisations`,
    /// method `mobiltbankid` unless given).
    #[wasm_bindgen(js_name = startAuthorisation, unchecked_return_type = "Promise<Authorisation>")]
    pub fn start_authorisation(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<AuthorisationOptions>>,
    ) -> Promise {
        self.start(payment_path(product, payment_id, &["authorisations"]).and_then(|path| {
            let o = opts(options)?;
            let method = o.authentication_method_id.unwrap_or_else(|| "mobiltbankid".to_owned());
            let body = Object::new();
            set(&body, "authenticationMethodId", &JsValue::from_str(&method));
            let json = stringify(&body, "body")?;
            Ok(Op::send("POST", path, Some(json), o.signal))
        }))
    }

    /// An authorisation's state (`GET /payments/{product}/{id}/authorisations/{authId}`).
    #[wasm_bindgen(js_name = authorisationStatus, unchecked_return_type = "Promise<Authorisation>")]
    pub fn authorisation_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        authorisation_id: &str,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(
            validate::id(authorisation_id, "authorisationId")
                .map_err(Failure::from)
                .and_then(|_| payment_op("GET", product, payment_id, &["authorisations", authorisation_id], options)),
        )
    }

    /// Signs a payment with Mobile BankID: starts an authorisation (method `bankIdQr` unless
    /// given) and follows it about every second, `onUpdate` getting every step — `{ status,
    /// message, qrSvg, autoStartUrl }` with the bank's new QR code each second — until the
    /// person has signed; resolves with the finalised `Authorisation` (then follow the
    /// payment with `waitForPayment`). Rejects `sca_failed` (cancelled or timed out at the
    /// bank; `err.body` is the authorisation), `timeout` after `timeoutMs`, `aborted` on
    /// `signal`, or the errors of any call.
    #[wasm_bindgen(js_name = signPayment, unchecked_return_type = "Promise<Authorisation>")]
    pub fn sign_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<SignOptions>>,
    ) -> Promise {
        self.start(payment_path(product, payment_id, &["authorisations"]).and_then(|path| {
            let o = opts(options)?;
            let timeout = o.timeout_ms.unwrap_or(300_000.0);
            validate::wait_options(1000.0, 1000.0, timeout)?;
            let method = o.authentication_method_id.unwrap_or_else(|| "bankIdQr".to_owned());
            let body = Object::new();
            set(&body, "authenticationMethodId", &JsValue::from_str(&method));
            let body = stringify(&body, "body")?;
            Ok(Op::Sign { path, body, on_update: o.on_update, timeout, signal: o.signal })
        }))
    }

    /// Polls the payment's status until it is final (`ACSC`, `ACCC`, `RJCT`, `CANC`),
    /// with a growing interval; rejects `timeout` after `timeoutMs`, `aborted` on `signal`.
    #[wasm_bindgen(js_name = waitForPayment, unchecked_return_type = "Promise<PaymentStatusResponse>")]
    pub fn wait_for_payment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PaymentProduct")] product: &str,
        payment_id: &str,
        options: Option<Ts<WaitOptions>>,
    ) -> Promise {
        self.start(payment_path(product, payment_id, &["status"]).and_then(|path| {
            let o = opts(options)?;
            let interval = o.interval_ms.unwrap_or(1000.0);
            let max = o.max_interval_ms.unwrap_or(10_000.0).max(interval);
            let timeout = o.timeout_ms.unwrap_or(300_000.0);
            validate::wait_options(interval, max, timeout)?;
            Ok(Op::Wait { path, interval, max, timeout, signal: o.signal })
        }))
    }

    /// Asks whether funds are available (`POST /funds-confirmations` under `/cof/v7/identified2`).
    #[wasm_bindgen(
        js_name = fundsConfirmation,
        unchecked_return_type = "Promise<FundsConfirmationResponse>"
    )]
    pub fn funds_confirmation(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FundsConfirmationRequest")] request: JsValue,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(object(&request, "request").and_then(|_| {
            validate::funds_confirmation(&Reader(&request))?;
            let json = stringify(&request, "request")?;
            let o = opts(options)?;
            Ok(Op::send("POST", paths::join(COF, &["funds-confirmations"]), Some(json), o.signal))
        }))
    }

    /// Escape hatch: any allowed API call, e.g. `request("GET", "/ais/v7/identified2/accounts")`.
    /// `path` is the bank API path (with query); `body` is sent as JSON. Resolves with the
    /// parsed JSON (`null` for an empty body).
    #[wasm_bindgen(unchecked_return_type = "Promise<unknown>")]
    pub fn request(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"GET\" | \"HEAD\" | \"POST\" | \"PUT\" | \"PATCH\" | \"DELETE\" | \"OPTIONS\"")]
        method: &str,
        path: &str,
        #[wasm_bindgen(unchecked_param_type = "unknown")] body: Option<JsValue>,
        options: Option<Ts<CallOptions>>,
    ) -> Promise {
        self.start(request_op(method, path, body, options))
    }
}

impl Valv {
    /// Runs `op` (or rejects with the argument error) as a Promise. Every method goes
    /// through this one future type, which keeps the wasm small.
    fn start(&self, op: Res<Op>) -> Promise {
        let op = match op {
            Ok(op) => op,
            Err(f) => return Promise::reject(&f.into_js()),
        };
        let inner = self.inner.clone();
        future_to_promise(async move { run(&inner, op).await.map_err(Failure::into_js) })
    }
}

/// What to return from a successful API answer.
#[derive(Clone, Copy)]
enum Pick {
    /// The parsed body.
    Whole,
    /// The named array member (an empty array when absent).
    Array(&'static str),
    /// The account itself, unwrapping Berlin Group's `{"account": …}`.
    AccountDetails,
}

/// One operation of the client, prepared (and its arguments checked) synchronously.
enum Op {
    Api { method: &'static str, path: String, body: Option<String>, signal: Option<AbortSignal>, pick: Pick },
    Session { signal: Option<AbortSignal> },
    Logout { signal: Option<AbortSignal> },
    Wait { path: String, interval: f64, max: f64, timeout: f64, signal: Option<AbortSignal> },
    Page { state: Rc<RefCell<PagesState>>, signal: Option<AbortSignal> },
    BankId { body: String, on_update: Option<Function>, signal: Option<AbortSignal> },
    Sign { path: String, body: String, on_update: Option<Function>, timeout: f64, signal: Option<AbortSignal> },
}

impl Op {
    fn get(path: String, signal: Option<AbortSignal>, pick: Pick) -> Op {
        Op::Api { method: "GET", path, body: None, signal, pick }
    }

    fn send(method: &'static str, path: String, body: Option<String>, signal: Option<AbortSignal>) -> Op {
        Op::Api { method, path, body, signal, pick: Pick::Whole }
    }
}

async fn run(inner: &Inner, op: Op) -> Res {
    match op {
        Op::Api { method, path, body, signal, pick } => {
            let v = inner.call(method, Target::Api(&path), body.as_deref(), signal).await?;
            Ok(match pick {
                Pick::Whole => v,
                Pick::Array(key) => {
                    let list = get(&v, key);
                    if Array::is_array(&list) {
                        list
                    } else {
                        Array::new().into()
                    }
                }
                Pick::AccountDetails => {
                    let wrapped = get(&v, "account");
                    if wrapped.is_object() && get(&v, "resourceId").is_undefined() {
                        wrapped
                    } else {
                        v
                    }
                }
            })
        }
        Op::Session { signal } => {
            let s = inner.call("GET", Target::Broker("/auth/session"), None, signal).await?;
            inner.observe_session(get(&s, "authenticated").as_bool().unwrap_or(false));
            Ok(s)
        }
        Op::Logout { signal } => {
            inner.call("POST", Target::Broker("/auth/logout"), None, signal).await?;
            inner.change("logout", false, None);
            Ok(JsValue::UNDEFINED)
        }
        Op::Wait { path, mut interval, max, timeout, signal } => {
            let deadline = now_ms() + timeout;
            loop {
                let status = inner.call("GET", Target::Api(&path), None, signal.clone()).await?;
                if get_str(&status, "transactionStatus").is_some_and(|s| poll::is_final_payment_status(&s)) {
                    return Ok(status);
                }
                let left = deadline - now_ms();
                if left <= 0.0 {
                    return Err(Failure::new(ErrorCode::Timeout, "the payment did not reach a final status in time"));
                }
                if JsFuture::from(js_sleep(interval.min(left), signal.clone())).await.is_err() {
                    return Err(Failure::new(ErrorCode::Aborted, "waiting for the payment was aborted"));
                }
                interval = poll::next_interval(interval, max);
            }
        }
        Op::Page { state, signal } => next_page(inner, &state, signal).await,
        Op::BankId { body, on_update, signal } => bank_id_login(inner, &body, on_update.as_ref(), signal).await,
        Op::Sign { path, body, on_update, timeout, signal } => sign_payment(inner, &path, &body, on_update.as_ref(), timeout, signal).await,
    }
}

/// Is the page in Swedish (`<html lang>`, else the browser's language).
fn swedish() -> bool {
    let lang = web_sys::window()
        .and_then(|w| Reflect::get(&w, &JsValue::from_str("document")).ok())
        .and_then(|d| Reflect::get(&d, &JsValue::from_str("documentElement")).ok())
        .and_then(|e| get_str(&e, "lang"))
        .filter(|l| !l.is_empty())
        .or_else(|| get_str(&Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).unwrap_or(JsValue::UNDEFINED), "language"));
    lang.is_some_and(|l| l.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("sv")))
}

/// What `onUpdate` gets for one step of a BankID login or signing.
fn bank_id_update(status: BankIdStatus, hint: &str, message: &str, qr: Option<&str>, auto_start_url: Option<&str>) -> Object {
    let u = Object::new();
    set(&u, "status", &JsValue::from_str(status.as_str()));
    if !hint.is_empty() {
        set(&u, "hintCode", &JsValue::from_str(hint));
    }
    set(&u, "message", &JsValue::from_str(message));
    if let Some(svg) = qr.and_then(bankid::qr_svg) {
        set(&u, "qrSvg", &JsValue::from_str(&svg));
    }
    if let Some(a) = auto_start_url {
        set(&u, "autoStartUrl", &JsValue::from_str(a));
    }
    u
}

/// Tells the page (a throwing callback must not end the login or signing).
fn notify(on_update: Option<&Function>, update: &Object) {
    if let Some(f) = on_update {
        let _ = f.call1(&JsValue::UNDEFINED, update);
    }
}

async fn bank_id_login(inner: &Inner, body: &str, on_update: Option<&Function>, signal: Option<AbortSignal>) -> Res {
    let sv = swedish();
    let mut step = inner.call("POST", Target::Broker("/auth/bankid"), Some(body), signal.clone()).await?;
    let id = get_str(&step, "id").filter(|i| i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')).unwrap_or_default();
    let path = ["/auth/bankid/", &id].concat();
    loop {
        // Anything but the contract's states ends the login.
        let status = get_str(&step, "status").and_then(|s| BankIdStatus::parse(&s)).unwrap_or(BankIdStatus::Failed);
        let hint = get_str(&step, "hintCode").unwrap_or_default();
        let qr = get_str(&step, "qrData");
        let message = bankid::message(status, &hint, qr.is_some(), sv);
        notify(on_update, &bank_id_update(status, &hint, message, qr.as_deref(), get_str(&step, "autoStartUrl").as_deref()));
        match status {
            BankIdStatus::Complete => {
                inner.change("login", true, None);
                return inner.call("GET", Target::Broker("/auth/session"), None, signal).await;
            }
            BankIdStatus::Pending if !id.is_empty() => {}
            _ => return Err(Failure { body: step, ..Failure::new(ErrorCode::LoginFailed, message) }),
        }
        let delay = get(&step, "pollDelayMs").as_f64().unwrap_or(1000.0).clamp(500.0, 10_000.0);
        let next = match JsFuture::from(js_sleep(delay, signal.clone())).await {
            Ok(_) => inner.call("GET", Target::Broker(&path), None, signal.clone()).await,
            Err(_) => Err(Failure::new(ErrorCode::Aborted, "the BankID login was aborted")),
        };
        step = match next {
            Ok(s) => s,
            Err(f) => {
                if f.code == ErrorCode::Aborted {
                    // Stopped by the page: the broker forgets the login (best effort).
                    let _ = inner.call("DELETE", Target::Broker(&path), None, None).await;
                }
                return Err(f);
            }
        };
    }
}

async fn sign_payment(
    inner: &Inner,
    path: &str,
    body: &str,
    on_update: Option<&Function>,
    timeout: f64,
    signal: Option<AbortSignal>,
) -> Res {
    let sv = swedish();
    let deadline = now_ms() + timeout;
    let mut auth = inner.call("POST", Target::Api(path), Some(body), signal.clone()).await?;
    let id = get_str(&auth, "authorisationId").unwrap_or_default();
    validate::id(&id, "authorisationId")
        .map_err(|_| Failure::new(ErrorCode::BankError, "the bank's answer has no usable authorisationId"))?;
    let auth_path = paths::join(path, &[&id]);
    loop {
        let status = bankid::sign_status(&get_str(&auth, "scaStatus").unwrap_or_default());
        // SEB's members for BankID (its Payment Initiation collection): `qrData`, `autoStartToken`.
        let qr = get_str(&auth, "qrData");
        let auto_start = get_str(&auth, "autoStartToken")
            .filter(|t| !t.is_empty())
            .map(|t| ["bankid:///?autostarttoken=", &String::from(js_sys::encode_uri_component(&t)), "&redirect=null"].concat());
        let message = bankid::sign_message(status, qr.is_some(), auto_start.is_some(), sv);
        notify(on_update, &bank_id_update(status, "", message, qr.as_deref(), auto_start.as_deref()));
        match status {
            BankIdStatus::Complete => return Ok(auth),
            BankIdStatus::Failed => return Err(Failure { body: auth, ..Failure::new(ErrorCode::ScaFailed, message) }),
            BankIdStatus::Pending => {}
        }
        let left = deadline - now_ms();
        if left <= 0.0 {
            return Err(Failure::new(ErrorCode::Timeout, "the payment was not signed in time"));
        }
        // BankID's QR code changes every second: SEB asks to poll every second.
        if JsFuture::from(js_sleep(left.min(1000.0), signal.clone())).await.is_err() {
            return Err(Failure::new(ErrorCode::Aborted, "signing the payment was aborted"));
        }
        auth = inner.call("GET", Target::Api(&auth_path), None, signal.clone()).await?;
    }
}

async fn next_page(inner: &Inner, state: &RefCell<PagesState>, signal: Option<AbortSignal>) -> Res {
    let path = {
        let mut st = state.borrow_mut();
        if st.busy {
            return Err(Failure::new(ErrorCode::InvalidArgument, "next() was called before the previous page arrived"));
        }
        match st.next.take() {
            Some(p) => {
                st.busy = true;
                p
            }
            None => return Ok(iter_result(&JsValue::UNDEFINED, true)),
        }
    };
    let result = inner.call("GET", Target::Api(&path), None, signal).await;
    let mut st = state.borrow_mut();
    st.busy = false;
    let page = match result {
        Ok(p) => p,
        Err(f) => {
            // The caller may ask for the same page again after a failure.
            st.next = Some(path);
            return Err(f);
        }
    };
    st.seen.push(path);
    if !st.dated {
        let href = get_str(&get(&get(&page, "_links"), "next"), "href").or_else(|| {
            // Berlin Group also puts the links inside `transactions`.
            get_str(&get(&get(&get(&page, "transactions"), "_links"), "next"), "href")
        });
        if let Some(h) = href {
            let resolved =
                paths::resolve_next(AIS, &h).map_err(|_| Failure::new(ErrorCode::BankError, "the bank sent an unusable next-page link"))?;
            // A link back to a page already read would loop forever.
            if !st.seen.contains(&resolved) {
                st.next = Some(resolved);
            }
        }
    }
    Ok(iter_result(&page, false))
}

/// The `returnTo` and `scopes` of a login (either kind): a local path, non-empty words.
fn login_args(return_to: Option<&str>, scopes: &[String]) -> Res<()> {
    if return_to.is_some_and(|r| !paths::is_local_path(r)) {
        return Err(Failure::new(ErrorCode::InvalidArgument, "returnTo must be a local path starting with /"));
    }
    if scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
        return Err(Failure::new(ErrorCode::InvalidArgument, "scopes must be non-empty words"));
    }
    Ok(())
}

fn payment_path(product: &str, payment_id: &str, rest: &[&str]) -> Res<String> {
    validate::product(product)?;
    validate::id(payment_id, "paymentId")?;
    let mut segments = vec!["payments", product, payment_id];
    segments.extend_from_slice(rest);
    Ok(paths::join(PIS, &segments))
}

fn payment_op(method: &'static str, product: &str, payment_id: &str, rest: &[&str], options: Option<Ts<CallOptions>>) -> Res<Op> {
    let path = payment_path(product, payment_id, rest)?;
    let o = opts(options)?;
    Ok(Op::send(method, path, None, o.signal))
}

fn request_op(method: &str, path: &str, body: Option<JsValue>, options: Option<Ts<CallOptions>>) -> Res<Op> {
    const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let m = method.to_ascii_uppercase();
    let method = METHODS
        .iter()
        .copied()
        .find(|x| *x == m)
        .ok_or_else(|| Failure::new(ErrorCode::InvalidArgument, "method must be an HTTP method such as GET or POST"))?;
    if !path.starts_with('/') || path.starts_with("//") || path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(Failure::new(ErrorCode::InvalidArgument, "path must be an API path starting with /"));
    }
    let body = body.unwrap_or(JsValue::UNDEFINED);
    let json = if body.is_undefined() || body.is_null() {
        None
    } else {
        Some(
            JSON::stringify(&body)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| Failure::new(ErrorCode::InvalidArgument, "body cannot be sent as JSON"))?,
        )
    };
    let o = opts(options)?;
    Ok(Op::send(method, path.to_owned(), json, o.signal))
}

fn object(value: &JsValue, what: &'static str) -> Res<()> {
    if !value.is_object() || Array::is_array(value) {
        return Err(Failure::new(ErrorCode::InvalidArgument, Cow::Owned([what, " must be an object"].concat())));
    }
    Ok(())
}

fn retries_option(r: Option<f64>) -> Res<u32> {
    match r {
        None => Ok(2),
        Some(n) if n.is_finite() && (0.0..=10.0).contains(&n) && n.fract() == 0.0 => Ok(n as u32),
        Some(_) => Err(Failure::new(ErrorCode::InvalidArgument, "retries must be a whole number from 0 to 10")),
    }
}

fn stringify(value: &JsValue, what: &'static str) -> Res<String> {
    object(value, what)?;
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Failure::new(ErrorCode::InvalidArgument, Cow::Owned([what, " cannot be sent as JSON"].concat())))
}

struct PagesState {
    next: Option<String>,
    dated: bool,
    busy: bool,
    seen: Vec<String>,
}

/// The pages of a `transactions()` call; JS sees it through the async iterator that
/// `transactions()` returns.
#[wasm_bindgen(skip_typescript)]
pub struct TransactionPages {
    inner: Rc<Inner>,
    state: Rc<RefCell<PagesState>>,
    signal: Option<AbortSignal>,
}

fn iter_result(value: &JsValue, done: bool) -> JsValue {
    let r = Object::new();
    set(&r, "value", value);
    set(&r, "done", &JsValue::from_bool(done));
    r.into()
}

#[wasm_bindgen]
impl TransactionPages {
    /// The next page: `{ value: TransactionsPage, done: false }`, then `{ done: true }`.
    pub fn next(&self) -> Promise {
        let valv = Valv { inner: self.inner.clone() };
        valv.start(Ok(Op::Page { state: self.state.clone(), signal: self.signal.clone() }))
    }

    /// Stops the iteration (called by `break` in `for await`).
    pub fn finish(&self) {
        self.state.borrow_mut().next = None;
    }
}
