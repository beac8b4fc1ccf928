//! Argument checks done before any request is sent (pure logic, no JS). Every failure
//! becomes a `ValvError` with code `invalid_argument` and this module's message.

use std::borrow::Cow;

use valv_psd2::{AccountNumbers, BookingStatus, DecimalString, FieldError, FundsFields, IsoDate, PaymentFields, PaymentProduct};

/// A rejected argument: the message names the argument and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Cow<'static, str>);

impl Invalid {
    fn new(msg: &'static str) -> Self {
        Self(Cow::Borrowed(msg))
    }
}

/// Longest id the client sends in a path (ids at SEB are far shorter).
pub const MAX_ID_LEN: usize = 512;

/// Checks a resource id (account, transaction, payment, authorisation) used as a path
/// segment: not empty or blank, not `.`/`..`, no control characters, at most
/// [`MAX_ID_LEN`] bytes. (Other characters are percent-encoded when sent.)
pub fn id(value: &str, what: &'static str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(Invalid(Cow::Owned([what, " must not be empty"].concat())));
    }
    if value == "." || value == ".." || value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
        return Err(Invalid(Cow::Owned([what, " is not a valid id"].concat())));
    }
    Ok(())
}

/// Checks a payment product (SEB template id): lower-case letters, digits and `-`,
/// e.g. `swedish-domestic-private-credit-transfers`. Products unknown to this version
/// are allowed so new ones work without an update.
pub fn product(value: &str) -> Result<PaymentProduct, Invalid> {
    if value.is_empty() {
        return Err(Invalid::new("product must not be empty"));
    }
    if value.len() > 100 || !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(Invalid::new("product must be a payment product such as \"swedish-domestic-private-credit-transfers\""));
    }
    Ok(PaymentProduct::from(value))
}

/// Checked query of a transactions call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionsArgs {
    /// `bookingStatus` (default `booked`).
    pub booking_status: BookingStatus,
    /// `dateFrom`, a valid date.
    pub date_from: Option<String>,
    /// `dateTo`, a valid date not before `dateFrom`.
    pub date_to: Option<String>,
}

impl TransactionsArgs {
    /// `true` when the call is date-filtered (SEB returns a single page).
    pub fn is_dated(&self) -> bool {
        self.date_from.is_some() || self.date_to.is_some()
    }
}

/// Checks the options of a transactions call.
pub fn transactions(booking_status: Option<&str>, date_from: Option<&str>, date_to: Option<&str>) -> Result<TransactionsArgs, Invalid> {
    let booking_status = match booking_status {
        None => BookingStatus::Booked,
        Some(s) => match s.parse::<BookingStatus>() {
            Ok(BookingStatus::Information) | Err(_) => {
                return Err(Invalid::new("bookingStatus must be \"booked\", \"pending\" or \"both\""))
            }
            Ok(b) => b,
        },
    };
    let from = date_from.map(|d| IsoDate::parse(d).map_err(|_| Invalid::new("dateFrom must be a valid YYYY-MM-DD date"))).transpose()?;
    let to = date_to.map(|d| IsoDate::parse(d).map_err(|_| Invalid::new("dateTo must be a valid YYYY-MM-DD date"))).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Invalid::new("dateFrom must not be after dateTo"));
        }
    }
    Ok(TransactionsArgs { booking_status, date_from: date_from.map(str::to_owned), date_to: date_to.map(str::to_owned) })
}

/// What a caller-supplied object holds at a path (a JS object in the browser, a JSON
/// value in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// Absent, `undefined` or `null`.
    Missing,
    /// A string.
    Str(String),
    /// A number.
    Number,
    /// A non-array object.
    Object,
    /// Anything else (boolean, array, …).
    Other,
}

/// Read access to a caller-supplied object.
pub trait Source {
    /// The member at `path` (`["instructedAmount", "amount"]`).
    fn member(&self, path: &[&str]) -> Member;
}

fn dotted(prefix: &str, path: &[&str], tail: &str) -> Invalid {
    let mut s = String::from(prefix);
    for p in path {
        s.push('.');
        s.push_str(p);
    }
    s.push_str(tail);
    Invalid(Cow::Owned(s))
}

fn opt_string(src: &dyn Source, prefix: &str, path: &[&str]) -> Result<Option<String>, Invalid> {
    match src.member(path) {
        Member::Missing => Ok(None),
        Member::Str(s) => Ok(Some(s)),
        _ => Err(dotted(prefix, path, " must be a string")),
    }
}

/// `instructedAmount`: the amount and the currency.
fn amount(src: &dyn Source, prefix: &str) -> Result<(DecimalString, String), Invalid> {
    if src.member(&["instructedAmount"]) != Member::Object {
        return Err(dotted(prefix, &["instructedAmount"], " is required"));
    }
    let path = ["instructedAmount", "amount"];
    let value = match src.member(&path) {
        Member::Str(s) => DecimalString::parse(&s).map_err(|_| dotted(prefix, &path, " must be a decimal string such as \"99.50\""))?,
        Member::Number => return Err(dotted(prefix, &path, " must be a string such as \"99.50\", not a number")),
        Member::Missing => return Err(dotted(prefix, &path, " is required")),
        _ => return Err(dotted(prefix, &path, " must be a string")),
    };
    let currency = opt_string(src, prefix, &["instructedAmount", "currency"])?
        .ok_or_else(|| dotted(prefix, &["instructedAmount", "currency"], " is required"))?;
    Ok((value, currency))
}

/// The account numbers of an account reference, each member of which must be a string if
/// present (`iban`, `bban`, `bgnr`, `pgnr`, `pan`, `maskedPan`, `msisdn`, `bic`,
/// `currency`).
struct Numbers([Option<String>; 4]);

impl Numbers {
    fn view(&self) -> AccountNumbers<'_> {
        let [iban, bban, bgnr, pgnr] = &self.0;
        AccountNumbers { iban: iban.as_deref(), bban: bban.as_deref(), bgnr: bgnr.as_deref(), pgnr: pgnr.as_deref() }
    }
}

fn account(src: &dyn Source, prefix: &str, key: &'static str) -> Result<Numbers, Invalid> {
    if src.member(&[key]) != Member::Object {
        return Err(dotted(prefix, &[key], " is required"));
    }
    let member = |name: &str| opt_string(src, prefix, &[key, name]);
    let numbers = Numbers([member("iban")?, member("bban")?, member("bgnr")?, member("pgnr")?]);
    // The rest are not read by the rules, but must be strings too.
    for name in ["pan", "maskedPan", "msisdn", "bic", "currency"] {
        member(name)?;
    }
    Ok(numbers)
}

/// Checks a payment body against `product`'s rules from `valv-psd2`
/// (`PaymentFields::validate`, the rules of `PaymentInitiation::validate`): required members,
/// a positive amount given as a decimal *string*, a currency code, account numbers per
/// product, message lengths and dates. Members the rules do not cover are sent as the caller
/// gave them.
pub fn payment(product: &PaymentProduct, src: &dyn Source) -> Result<(), Invalid> {
    const P: &str = "payment";
    let (amount, currency) = amount(src, P)?;
    let (debtor, creditor) = (account(src, P, "debtorAccount")?, account(src, P, "creditorAccount")?);
    const MEMBERS: [&str; 9] = [
        "templateId",
        "creditorName",
        "creditorAccountMessage",
        "debtorAccountMessage",
        "remittanceInformationUnstructured",
        "requestedExecutionDate",
        "startDate",
        "endDate",
        "frequency",
    ];
    let mut m: [Option<String>; 9] = Default::default();
    for (value, name) in m.iter_mut().zip(MEMBERS) {
        *value = opt_string(src, P, &[name])?;
    }
    let [template, name, creditor_message, debtor_message, remittance, execution, start, end, frequency] = &m;
    PaymentFields {
        template_id: template.as_deref(),
        amount: &amount,
        currency: &currency,
        debtor_account: debtor.view(),
        creditor_account: creditor.view(),
        creditor_name: name.as_deref(),
        creditor_account_message: creditor_message.as_deref(),
        debtor_account_message: debtor_message.as_deref(),
        remittance_information_unstructured: remittance.as_deref(),
        requested_execution_date: execution.as_deref(),
        start_date: start.as_deref(),
        end_date: end.as_deref(),
        frequency: frequency.as_deref(),
    }
    .validate(product)
    .map_err(|errors| invalid("payment", &errors))
}

/// `<what> is invalid: path: message; …` for the problems valv-psd2 found.
fn invalid(what: &str, errors: &[FieldError]) -> Invalid {
    let mut msg = String::from(what);
    msg.push_str(" is invalid: ");
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            msg.push_str("; ");
        }
        msg.push_str(e.path);
        msg.push_str(": ");
        msg.push_str(&e.message);
    }
    Invalid(Cow::Owned(msg))
}

/// Checks a funds confirmation body against valv-psd2's rules (`FundsFields::validate`, the
/// rules of `FundsConfirmationRequest::validate`: an account with `iban` or `bban`, a
/// positive amount string with a currency code).
pub fn funds_confirmation(src: &dyn Source) -> Result<(), Invalid> {
    let account = account(src, "request", "account")?;
    let (amount, currency) = amount(src, "request")?;
    FundsFields { account: account.view(), amount: &amount, currency: &currency }.validate().map_err(|errors| invalid("request", &errors))
}

/// Checks the options of `waitForPayment`: positive intervals, `maxIntervalMs` not below
/// `intervalMs`, positive timeout.
pub fn wait_options(interval_ms: f64, max_interval_ms: f64, timeout_ms: f64) -> Result<(), Invalid> {
    let ok = |v: f64| v.is_finite() && v >= 1.0;
    if !ok(interval_ms) || !ok(max_interval_ms) || !ok(timeout_ms) {
        return Err(Invalid::new("intervalMs, maxIntervalMs and timeoutMs must be positive numbers"));
    }
    if max_interval_ms < interval_ms {
        return Err(Invalid::new("maxIntervalMs must not be below intervalMs"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    struct Json(Value);

    impl Source for Json {
        fn member(&self, path: &[&str]) -> Member {
            let mut v = &self.0;
            for p in path {
                match v.get(p) {
                    Some(x) => v = x,
                    None => return Member::Missing,
                }
            }
            match v {
                Value::Null => Member::Missing,
                Value::String(s) => Member::Str(s.clone()),
                Value::Number(_) => Member::Number,
                Value::Object(_) => Member::Object,
                _ => Member::Other,
            }
        }
    }

    fn payment_json(product: &PaymentProduct, text: &str) -> Result<(), Invalid> {
        payment(product, &Json(serde_json::from_str(text).expect("test JSON")))
    }

    fn funds_json(text: &str) -> Result<(), Invalid> {
        funds_confirmation(&Json(serde_json::from_str(text).expect("test JSON")))
    }

    const TRANSFER: &str = r#"{
        "templateId": "swedish-domestic-private-credit-transfers",
        "instructedAmount": {"currency": "SEK", "amount": "99.50"},
        "debtorAccount": {"iban": "SE3750000000054400047881"},
        "creditorAccount": {"iban": "SE2550000000054400047903"},
        "creditorAccountMessage": "Hello"
    }"#;

    fn transfer() -> PaymentProduct {
        PaymentProduct::SwedishDomesticPrivateCreditTransfers
    }

    #[test]
    fn ids() {
        assert!(id("a1b2", "accountId").is_ok());
        assert!(id("with space/and slash", "accountId").is_ok());
        assert_eq!(id("", "accountId"), Err(Invalid("accountId must not be empty".into())));
        assert!(id("  ", "accountId").is_err());
        assert!(id("..", "accountId").is_err());
        assert!(id("a\u{0}b", "accountId").is_err());
        assert!(id(&"x".repeat(MAX_ID_LEN + 1), "accountId").is_err());
    }

    #[test]
    fn products() {
        assert_eq!(product("sepa-credit-transfers"), Ok(PaymentProduct::SepaCreditTransfers));
        assert!(product("instant-sepa-2").is_ok_and(|p| !p.is_known()));
        for bad in ["", "Sepa", "a/b", "a b", "../x"] {
            assert!(product(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn transaction_options() {
        let a = transactions(None, None, None).unwrap();
        assert_eq!(a.booking_status, BookingStatus::Booked);
        assert!(!a.is_dated());
        let a = transactions(Some("both"), Some("2024-01-01"), Some("2024-01-31")).unwrap();
        assert_eq!(a.booking_status, BookingStatus::Both);
        assert!(a.is_dated());
        assert!(transactions(Some("pending"), Some("2024-02-29"), None).is_ok());
        assert!(transactions(None, Some("2024-01-01"), Some("2024-01-01")).is_ok());
        for (b, f, t) in [
            (Some("BOOKED"), None, None),
            (Some("information"), None, None),
            (Some(""), None, None),
            (None, Some("2024-1-01"), None),
            (None, Some("2023-02-29"), None),
            (None, None, Some("yesterday")),
            (None, Some("2024-02-01"), Some("2024-01-31")),
        ] {
            assert!(transactions(b, f, t).is_err(), "{b:?} {f:?} {t:?}");
        }
        assert_eq!(transactions(None, Some("2024-02-01"), Some("2024-01-31")), Err(Invalid("dateFrom must not be after dateTo".into())));
    }

    #[test]
    fn payments_are_checked_per_product() {
        assert_eq!(payment_json(&transfer(), TRANSFER), Ok(()));
        let neg = TRANSFER.replace("\"99.50\"", "\"-5\"");
        let err = payment_json(&transfer(), &neg).unwrap_err();
        assert!(err.0.contains("instructedAmount.amount: must be greater than zero"), "{}", err.0);
        let zero = TRANSFER.replace("\"99.50\"", "\"0.00\"");
        assert!(payment_json(&transfer(), &zero).is_err());
        let number = TRANSFER.replace("\"99.50\"", "99.5");
        assert!(payment_json(&transfer(), &number).unwrap_err().0.contains("not a number"));
        let malformed = TRANSFER.replace("\"99.50\"", "\"1e3\"");
        assert!(payment_json(&transfer(), &malformed).is_err());
        let long_msg = TRANSFER.replace("\"Hello\"", "\"Thirteen chars\"");
        assert!(payment_json(&transfer(), &long_msg).unwrap_err().0.contains("creditorAccountMessage"));
        // the body's templateId must match the product in the path
        let err = payment_json(&PaymentProduct::SepaCreditTransfers, TRANSFER).unwrap_err();
        assert!(err.0.contains("templateId"), "{}", err.0);
        assert_eq!(payment_json(&transfer(), "{}"), Err(Invalid("payment.instructedAmount is required".into())));
        let no_creditor = r#"{"instructedAmount": {"currency": "SEK", "amount": "1"},
            "debtorAccount": {"iban": "SE37"}}"#;
        assert_eq!(payment_json(&transfer(), no_creditor), Err(Invalid("payment.creditorAccount is required".into())));
        let bad_type = TRANSFER.replace("\"Hello\"", "12");
        assert_eq!(payment_json(&transfer(), &bad_type), Err(Invalid("payment.creditorAccountMessage must be a string".into())));
        let bankgiro = r#"{"instructedAmount": {"currency": "SEK", "amount": "55.50"},
            "debtorAccount": {"iban": "SE3750000000054400047881"},
            "creditorAccount": {"bgnr": "8080-1111"}}"#;
        assert_eq!(payment_json(&PaymentProduct::SwedishDomesticPrivateBankgiros, bankgiro), Ok(()));
    }

    #[test]
    fn funds_confirmations() {
        let ok = r#"{"account": {"iban": "SE80"}, "instructedAmount": {"amount": "10.00", "currency": "SEK"}}"#;
        assert_eq!(funds_json(ok), Ok(()));
        assert!(funds_json(&ok.replace("10.00", "-1")).is_err());
        assert!(funds_json(&ok.replace("\"10.00\"", "10")).is_err());
        assert!(funds_json(&ok.replace("SEK", "kr")).is_err());
        assert!(funds_json(&ok.replace("iban", "pan")).is_err());
        assert!(funds_json("[]").is_err());
        assert!(funds_json(r#"{"instructedAmount": {"amount": "1", "currency": "SEK"}}"#).is_err());
        assert!(funds_json(r#"{"instructedAmount": {"amount": "1", "currency": "SEK"}}"#).is_err());
    }

    #[test]
    fn wait_option_ranges() {
        assert!(wait_options(1000.0, 10_000.0, 60_000.0).is_ok());
        assert!(wait_options(0.0, 10.0, 10.0).is_err());
        assert!(wait_options(f64::NAN, 10.0, 10.0).is_err());
        assert!(wait_options(100.0, 50.0, 10.0).is_err());
        assert!(wait_options(100.0, 100.0, -1.0).is_err());
    }
}
