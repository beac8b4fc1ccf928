//! Request validation for payment initiation, per product, with the rules SEB documents
//! in its Payment Initiation collection and notes:
//!
//! | product | creditor account | message limits | currency |
//! | --- | --- | --- | --- |
//! | `swedish-domestic-private-credit-transfers` | `iban` or `bban` | `creditorAccountMessage`, `debtorAccountMessage` ≤ 12 | SEK |
//! | `swedish-domestic-private-own-accounts-transfers` | `iban` or `bban` | as credit transfers | SEK |
//! | `swedish-domestic-private-bankgiros` | `bgnr` (7–10 digits, one optional `-`) | `debtorAccountMessage` ≤ 20 | SEK |
//! | `swedish-domestic-private-plusgiros` | `pgnr` (2–8 digits, one optional `-`) | `debtorAccountMessage` ≤ 20, `remittanceInformationUnstructured` ≤ 100 | SEK |
//! | `sepa-credit-transfers` | `iban`, plus `creditorName` | | EUR |
//! | `cross-border-credit-transfers`, `high-value-credit-transfers` | `iban` or `bban`, plus `creditorName` | | any |
//!
//! For every product: a positive amount with a three-letter currency, a debtor account with
//! `iban` or `bban`, `templateId` (if sent) equal to the product in the path, valid
//! `YYYY-MM-DD` dates, and a `startDate` for periodic payments (`frequency` set).
//! Limits are counted in characters (Unicode scalar values).
//!
//! A funds confirmation ([`FundsConfirmationRequest::validate`]) needs a positive amount
//! with a three-letter currency and an account with `iban` or `bban`.
//!
//! The rules read the members through borrowed views, [`PaymentFields`] and [`FundsFields`]:
//! the models validate through them, and a client that holds a body in another form (a
//! JavaScript object) checks it with the same rules without building the model.

use std::fmt;

use crate::account::AccountReference;
use crate::amount::DecimalString;
use crate::date::IsoDate;
use crate::payment::{FundsConfirmationRequest, PaymentInitiation, PaymentProduct};

/// One invalid member of a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the member, e.g. `creditorAccount.bgnr`.
    pub path: &'static str,
    /// What is wrong, for a human (and for a Berlin Group `FORMAT_ERROR` detail).
    pub message: String,
}

impl FieldError {
    fn new(path: &'static str, message: impl Into<String>) -> Self {
        Self { path, message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for FieldError {}

/// The account numbers of an account reference that the rules read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountNumbers<'a> {
    /// `iban`.
    pub iban: Option<&'a str>,
    /// `bban`.
    pub bban: Option<&'a str>,
    /// `bgnr` (Bankgiro).
    pub bgnr: Option<&'a str>,
    /// `pgnr` (PlusGiro).
    pub pgnr: Option<&'a str>,
}

impl<'a> From<&'a AccountReference> for AccountNumbers<'a> {
    fn from(a: &'a AccountReference) -> Self {
        Self { iban: a.iban.as_deref(), bban: a.bban.as_deref(), bgnr: a.bgnr.as_deref(), pgnr: a.pgnr.as_deref() }
    }
}

/// The members of a payment initiation body that the rules read (see [`PaymentInitiation::fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentFields<'a> {
    /// `templateId`.
    pub template_id: Option<&'a str>,
    /// `instructedAmount.amount`.
    pub amount: &'a DecimalString,
    /// `instructedAmount.currency`.
    pub currency: &'a str,
    /// `debtorAccount`.
    pub debtor_account: AccountNumbers<'a>,
    /// `creditorAccount`.
    pub creditor_account: AccountNumbers<'a>,
    /// `creditorName`.
    pub creditor_name: Option<&'a str>,
    /// `creditorAccountMessage`.
    pub creditor_account_message: Option<&'a str>,
    /// `debtorAccountMessage`.
    pub debtor_account_message: Option<&'a str>,
    /// `remittanceInformationUnstructured`.
    pub remittance_information_unstructured: Option<&'a str>,
    /// `requestedExecutionDate`.
    pub requested_execution_date: Option<&'a str>,
    /// `startDate`.
    pub start_date: Option<&'a str>,
    /// `endDate`.
    pub end_date: Option<&'a str>,
    /// `frequency`.
    pub frequency: Option<&'a str>,
}

/// The members of a funds confirmation request that the rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundsFields<'a> {
    /// `account`.
    pub account: AccountNumbers<'a>,
    /// `instructedAmount.amount`.
    pub amount: &'a DecimalString,
    /// `instructedAmount.currency`.
    pub currency: &'a str,
}

fn has_account_number(a: &AccountNumbers<'_>) -> bool {
    a.iban.is_some_and(|s| !s.trim().is_empty()) || a.bban.is_some_and(|s| !s.trim().is_empty())
}

/// Digits with at most one `-` not at either end, with `min..=max` digits.
fn is_giro_number(s: &str, min: usize, max: usize) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let dashes = s.bytes().filter(|&b| b == b'-').count();
    digits + dashes == s.len() && dashes <= 1 && !s.starts_with('-') && !s.ends_with('-') && (min..=max).contains(&digits)
}

/// A positive amount with a three-letter currency code.
fn check_amount(errors: &mut Vec<FieldError>, amount: &DecimalString, currency: &str) {
    if amount.is_negative() || amount.is_zero() {
        errors.push(FieldError::new("instructedAmount.amount", "must be greater than zero"));
    }
    if !crate::amount::is_currency_code(currency) {
        errors.push(FieldError::new("instructedAmount.currency", "must be a three-letter ISO 4217 code"));
    }
}

/// A length limit of SEB's, with its message (a constant, not `format!`ted: the client's wasm
/// would carry the formatting machinery for this message alone).
struct Limit(usize, &'static str);

const AT_MOST_12: Limit = Limit(12, "at most 12 characters");
const AT_MOST_20: Limit = Limit(20, "at most 20 characters");
const AT_MOST_100: Limit = Limit(100, "at most 100 characters");

fn check_len(errors: &mut Vec<FieldError>, path: &'static str, value: Option<&str>, Limit(max, message): Limit) {
    // Counts no further than the limit.
    if value.is_some_and(|v| v.chars().take(max + 1).count() > max) {
        errors.push(FieldError::new(path, message));
    }
}

fn check_date(errors: &mut Vec<FieldError>, path: &'static str, value: Option<&str>) {
    if let Some(v) = value {
        if IsoDate::parse(v).is_err() {
            errors.push(FieldError::new(path, "not a valid YYYY-MM-DD date"));
        }
    }
}

impl FundsConfirmationRequest {
    /// Checks the body (see the [module docs](crate::validation)); returns every problem.
    ///
    /// ```
    /// use valv_psd2::{AccountReference, Amount, FundsConfirmationRequest};
    /// let ok = FundsConfirmationRequest::new(AccountReference::iban("SE3750000000054400047881"), Amount::parse("10.00", "SEK").unwrap());
    /// assert!(ok.validate().is_ok());
    /// let giro = FundsConfirmationRequest::new(AccountReference::bankgiro("8080-1111"), Amount::parse("0", "SEK").unwrap());
    /// let paths: Vec<_> = giro.validate().unwrap_err().iter().map(|e| e.path).collect();
    /// assert_eq!(paths, ["instructedAmount.amount", "account"]);
    /// ```
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        FundsFields {
            account: AccountNumbers::from(&self.account),
            amount: &self.instructed_amount.amount,
            currency: &self.instructed_amount.currency,
        }
        .validate()
    }
}

impl FundsFields<'_> {
    /// Checks the request against the rules of [`FundsConfirmationRequest::validate`].
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        check_amount(&mut errors, self.amount, self.currency);
        if !has_account_number(&self.account) {
            errors.push(FieldError::new("account", "iban or bban is required"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl PaymentInitiation {
    /// Checks the body against `product`'s rules (see the [module docs](crate::validation)).
    /// Returns every problem found, not just the first.
    ///
    /// ```
    /// use valv_psd2::{AccountReference, Amount, PaymentInitiation, PaymentProduct};
    /// let p = PaymentInitiation::new(
    ///     Amount::parse("55.50", "SEK").unwrap(),
    ///     AccountReference::iban("SE3750000000054400047881"),
    ///     AccountReference::iban("SE2550000000054400047903"),
    /// );
    /// assert!(p.validate(&PaymentProduct::SwedishDomesticPrivateCreditTransfers).is_ok());
    /// let errors = p.validate(&PaymentProduct::SwedishDomesticPrivateBankgiros).unwrap_err();
    /// assert_eq!(errors[0].path, "creditorAccount.bgnr");
    /// ```
    pub fn validate(&self, product: &PaymentProduct) -> Result<(), Vec<FieldError>> {
        self.fields().validate(product)
    }

    /// The members the rules read.
    pub fn fields(&self) -> PaymentFields<'_> {
        PaymentFields {
            template_id: self.template_id.as_ref().map(PaymentProduct::as_str),
            amount: &self.instructed_amount.amount,
            currency: &self.instructed_amount.currency,
            debtor_account: AccountNumbers::from(&self.debtor_account),
            creditor_account: AccountNumbers::from(&self.creditor_account),
            creditor_name: self.creditor_name.as_deref(),
            creditor_account_message: self.creditor_account_message.as_deref(),
            debtor_account_message: self.debtor_account_message.as_deref(),
            remittance_information_unstructured: self.remittance_information_unstructured.as_deref(),
            requested_execution_date: self.requested_execution_date.as_deref(),
            start_date: self.start_date.as_deref(),
            end_date: self.end_date.as_deref(),
            frequency: self.frequency.as_deref(),
        }
    }
}

impl PaymentFields<'_> {
    /// Checks the body against `product`'s rules (see [`PaymentInitiation::validate`]).
    pub fn validate(&self, product: &PaymentProduct) -> Result<(), Vec<FieldError>> {
        use PaymentProduct as P;
        let mut errors = Vec::new();

        if let Some(template) = self.template_id {
            if template != product.as_str() {
                errors.push(FieldError::new("templateId", ["must be the payment product ", product.as_str()].concat()));
            }
        }
        check_amount(&mut errors, self.amount, self.currency);
        if !has_account_number(&self.debtor_account) {
            errors.push(FieldError::new("debtorAccount", "iban or bban is required"));
        }
        check_date(&mut errors, "requestedExecutionDate", self.requested_execution_date);
        check_date(&mut errors, "startDate", self.start_date);
        check_date(&mut errors, "endDate", self.end_date);
        if self.frequency.is_some() && self.start_date.is_none() {
            errors.push(FieldError::new("startDate", "is required for periodic payments"));
        }

        let currency = |errors: &mut Vec<FieldError>, want: &str| {
            if self.currency != want {
                errors.push(FieldError::new("instructedAmount.currency", ["must be ", want, " for ", product.as_str()].concat()));
            }
        };
        let creditor = self.creditor_account;
        match product {
            P::SwedishDomesticPrivateCreditTransfers | P::SwedishDomesticPrivateOwnAccountsTransfers => {
                currency(&mut errors, "SEK");
                if !has_account_number(&creditor) {
                    errors.push(FieldError::new("creditorAccount", "iban or bban is required"));
                }
                check_len(&mut errors, "creditorAccountMessage", self.creditor_account_message, AT_MOST_12);
                check_len(&mut errors, "debtorAccountMessage", self.debtor_account_message, AT_MOST_12);
            }
            P::SwedishDomesticPrivateBankgiros => {
                currency(&mut errors, "SEK");
                match creditor.bgnr {
                    None => errors.push(FieldError::new("creditorAccount.bgnr", "a Bankgiro number is required")),
                    Some(n) if !is_giro_number(n, 7, 10) => {
                        errors.push(FieldError::new("creditorAccount.bgnr", "not a Bankgiro number (e.g. 8080-1111)"))
                    }
                    Some(_) => {}
                }
                check_len(&mut errors, "debtorAccountMessage", self.debtor_account_message, AT_MOST_20);
            }
            P::SwedishDomesticPrivatePlusgiros => {
                currency(&mut errors, "SEK");
                match creditor.pgnr {
                    None => errors.push(FieldError::new("creditorAccount.pgnr", "a PlusGiro number is required")),
                    Some(n) if !is_giro_number(n, 2, 8) => {
                        errors.push(FieldError::new("creditorAccount.pgnr", "not a PlusGiro number (e.g. 12345678)"))
                    }
                    Some(_) => {}
                }
                check_len(&mut errors, "debtorAccountMessage", self.debtor_account_message, AT_MOST_20);
                check_len(&mut errors, "remittanceInformationUnstructured", self.remittance_information_unstructured, AT_MOST_100);
            }
            P::SepaCreditTransfers => {
                currency(&mut errors, "EUR");
                if creditor.iban.is_none_or(|s| s.trim().is_empty()) {
                    errors.push(FieldError::new("creditorAccount.iban", "an IBAN is required"));
                }
                if self.creditor_name.is_none_or(|s| s.trim().is_empty()) {
                    errors.push(FieldError::new("creditorName", "is required"));
                }
            }
            P::CrossBorderCreditTransfers | P::HighValueCreditTransfers => {
                if !has_account_number(&creditor) {
                    errors.push(FieldError::new("creditorAccount", "iban or bban is required"));
                }
                if self.creditor_name.is_none_or(|s| s.trim().is_empty()) {
                    errors.push(FieldError::new("creditorName", "is required"));
                }
            }
            P::Other(_) => {}
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
