//! Argument checks done before any request is sent (pure logic, no JS). Every failure
//! becomes a `ValvError` with code `invalid_argument` and this module's message.

use std::borrow::Cow;

use valv_psd2::{
    BookingStatus, FundsConfirmationRequest, IsoDate, PaymentInitiation, PaymentProduct,
};

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
    if value == "."
        || value == ".."
        || value.len() > MAX_ID_LEN
        || value.chars().any(char::is_control)
    {
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
    if value.len() > 100
        || !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Invalid::new(
            "product must be a payment product such as \"swedish-domestic-private-credit-transfers\"",
        ));
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
pub fn transactions(
    booking_status: Option<&str>,
    date_from: Option<&str>,
    date_to: Option<&str>,
) -> Result<TransactionsArgs, Invalid> {
    let booking_status = match booking_status {
        None => BookingStatus::Booked,
        Some(s) => match s.parse::<BookingStatus>() {
            Ok(BookingStatus::Information) | Err(_) => {
                return Err(Invalid::new(
                    "bookingStatus must be \"booked\", \"pending\" or \"both\"",
                ))
            }
            Ok(b) => b,
        },
    };
    let from = date_from
        .map(|d| {
            IsoDate::parse(d).map_err(|_| Invalid::new("dateFrom must be a valid YYYY-MM-DD date"))
        })
        .transpose()?;
    let to = date_to
        .map(|d| {
            IsoDate::parse(d).map_err(|_| Invalid::new("dateTo must be a valid YYYY-MM-DD date"))
        })
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Invalid::new("dateFrom must not be after dateTo"));
        }
    }
    Ok(TransactionsArgs {
        booking_status,
        date_from: date_from.map(str::to_owned),
        date_to: date_to.map(str::to_owned),
    })
}

fn json_error(prefix: &'static str, e: &serde_json::Error) -> Invalid {
    Invalid(Cow::Owned([prefix, &e.to_string()].concat()))
}

/// Checks a payment body (JSON text) against `product`'s rules from `valv-psd2`:
/// required members, a positive amount given as a decimal *string*, a currency code,
/// account numbers per product, message lengths and dates.
pub fn payment(product: &PaymentProduct, json: &str) -> Result<(), Invalid> {
    let p: PaymentInitiation =
        serde_json::from_str(json).map_err(|e| json_error("payment is invalid: ", &e))?;
    if p.instructed_amount.amount.was_json_number() {
        return Err(Invalid::new(
            "payment.instructedAmount.amount must be a string such as \"99.50\", not a number",
        ));
    }
    p.validate(product).map_err(|errors| {
        let mut msg = String::from("payment is invalid: ");
        for (i, e) in errors.iter().enumerate() {
            if i > 0 {
                msg.push_str("; ");
            }
            msg.push_str(e.path);
            msg.push_str(": ");
            msg.push_str(&e.message);
        }
        Invalid(Cow::Owned(msg))
    })
}

/// Checks a funds confirmation body (JSON text): an account with `iban` or `bban` and a
/// positive amount string with a currency code.
pub fn funds_confirmation(json: &str) -> Result<(), Invalid> {
    let r: FundsConfirmationRequest =
        serde_json::from_str(json).map_err(|e| json_error("request is invalid: ", &e))?;
    let amount = &r.instructed_amount;
    if amount.amount.was_json_number() {
        return Err(Invalid::new(
            "instructedAmount.amount must be a string such as \"99.50\", not a number",
        ));
    }
    if amount.amount.is_negative() || amount.amount.is_zero() {
        return Err(Invalid::new(
            "instructedAmount.amount must be greater than zero",
        ));
    }
    if !valv_psd2::is_currency_code(&amount.currency) {
        return Err(Invalid::new(
            "instructedAmount.currency must be a three-letter ISO 4217 code",
        ));
    }
    let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !has(&r.account.iban) && !has(&r.account.bban) {
        return Err(Invalid::new("account must have an iban or a bban"));
    }
    Ok(())
}

/// Checks the options of `waitForPayment`: positive intervals, `maxIntervalMs` not below
/// `intervalMs`, positive timeout.
pub fn wait_options(
    interval_ms: f64,
    max_interval_ms: f64,
    timeout_ms: f64,
) -> Result<(), Invalid> {
    let ok = |v: f64| v.is_finite() && v >= 1.0;
    if !ok(interval_ms) || !ok(max_interval_ms) || !ok(timeout_ms) {
        return Err(Invalid::new(
            "intervalMs, maxIntervalMs and timeoutMs must be positive numbers",
        ));
    }
    if max_interval_ms < interval_ms {
        return Err(Invalid::new("maxIntervalMs must not be below intervalMs"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            id("", "accountId"),
            Err(Invalid("accountId must not be empty".into()))
        );
        assert!(id("  ", "accountId").is_err());
        assert!(id("..", "accountId").is_err());
        assert!(id("a\u{0}b", "accountId").is_err());
        assert!(id(&"x".repeat(MAX_ID_LEN + 1), "accountId").is_err());
    }

    #[test]
    fn products() {
        assert_eq!(
            product("sepa-credit-transfers"),
            Ok(PaymentProduct::SepaCreditTransfers)
        );
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
        assert_eq!(
            transactions(None, Some("2024-02-01"), Some("2024-01-31")),
            Err(Invalid("dateFrom must not be after dateTo".into()))
        );
    }

    #[test]
    fn payments_are_checked_per_product() {
        assert_eq!(payment(&transfer(), TRANSFER), Ok(()));
        let neg = TRANSFER.replace("\"99.50\"", "\"-5\"");
        let err = payment(&transfer(), &neg).unwrap_err();
        assert!(
            err.0
                .contains("instructedAmount.amount: must be greater than zero"),
            "{}",
            err.0
        );
        let zero = TRANSFER.replace("\"99.50\"", "\"0.00\"");
        assert!(payment(&transfer(), &zero).is_err());
        let number = TRANSFER.replace("\"99.50\"", "99.5");
        assert!(payment(&transfer(), &number)
            .unwrap_err()
            .0
            .contains("not a number"));
        let malformed = TRANSFER.replace("\"99.50\"", "\"1e3\"");
        assert!(payment(&transfer(), &malformed).is_err());
        let long_msg = TRANSFER.replace("\"Hello\"", "\"Thirteen chars\"");
        assert!(payment(&transfer(), &long_msg)
            .unwrap_err()
            .0
            .contains("creditorAccountMessage"));
        // the body's templateId must match the product in the path
        let err = payment(&PaymentProduct::SepaCreditTransfers, TRANSFER).unwrap_err();
        assert!(err.0.contains("templateId"), "{}", err.0);
        assert!(payment(&transfer(), "{}")
            .unwrap_err()
            .0
            .starts_with("payment is invalid: "));
        assert!(payment(&transfer(), "not json").is_err());
    }

    #[test]
    fn funds_confirmations() {
        let ok = r#"{"account": {"iban": "SE80"}, "instructedAmount": {"amount": "10.00", "currency": "SEK"}}"#;
        assert_eq!(funds_confirmation(ok), Ok(()));
        assert!(funds_confirmation(&ok.replace("10.00", "-1")).is_err());
        assert!(funds_confirmation(&ok.replace("\"10.00\"", "10")).is_err());
        assert!(funds_confirmation(&ok.replace("SEK", "kr")).is_err());
        assert!(funds_confirmation(&ok.replace("iban", "pan")).is_err());
        assert!(funds_confirmation("[]").is_err());
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
