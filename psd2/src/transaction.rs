//! Account Information: transactions.
//!
//! - `GET /accounts/{resourceId}/transactions?bookingStatus=&dateFrom=&dateTo=` →
//!   [`TransactionsResponse`]; undated requests page through `_links.next`
//!   ([`TransactionsResponse::next_link`]).
//! - `GET /accounts/{resourceId}/transactions/{transactionId}` → [`TransactionDetails`]
//!   (SEB v7 returns the transaction object itself).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::account::{AccountReference, Balance};
use crate::amount::Amount;
use crate::date::IsoDate;
use crate::macros::open_enum;
use crate::Links;
use crate::OtherMembers;

/// The `bookingStatus` query parameter of the transactions endpoint.
///
/// Parsing is strict (an unknown value is an error), since it validates requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    /// Booked transactions only.
    Booked,
    /// Pending transactions only (upcoming payments and reservations).
    Pending,
    /// Booked and pending.
    Both,
    /// Berlin Group "information" entries (standing orders); SEB does not offer it.
    Information,
}

impl BookingStatus {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::Pending => "pending",
            BookingStatus::Both => "both",
            BookingStatus::Information => "information",
        }
    }

    /// `true` when booked transactions are included.
    pub fn includes_booked(self) -> bool {
        matches!(self, BookingStatus::Booked | BookingStatus::Both)
    }

    /// `true` when pending transactions are included.
    pub fn includes_pending(self) -> bool {
        matches!(self, BookingStatus::Pending | BookingStatus::Both)
    }
}

/// An unknown `bookingStatus` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBookingStatus;

impl fmt::Display for UnknownBookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bookingStatus must be one of booked, pending, both, information")
    }
}

impl std::error::Error for UnknownBookingStatus {}

impl FromStr for BookingStatus {
    type Err = UnknownBookingStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "booked" => Ok(BookingStatus::Booked),
            "pending" => Ok(BookingStatus::Pending),
            "both" => Ok(BookingStatus::Both),
            "information" => Ok(BookingStatus::Information),
            _ => Err(UnknownBookingStatus),
        }
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Query of `GET /accounts/{id}/transactions`:
/// `?bookingStatus=booked&dateFrom=2024-01-01&dateTo=2024-01-31` or, for the next page of an
/// undated request, the `transactionSequenceNumber` taken from `_links.next`.
///
/// Works with `serde_urlencoded` (and so with axum's `Query`); values are validated when
/// parsing (`bookingStatus` strictly, dates as real `YYYY-MM-DD` dates).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionsQuery {
    /// Which transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_status: Option<BookingStatus>,
    /// First booking date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_from: Option<IsoDate>,
    /// Last booking date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_to: Option<IsoDate>,
    /// SEB v7 paging key of undated requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_sequence_number: Option<String>,
}

open_enum! {
    /// SEB's `pendingType` of a pending transaction.
    pub enum PendingType {
        /// A future (scheduled) payment.
        Upcoming => "upcoming",
        /// A reserved amount (e.g. a card authorisation).
        Reserved => "reserved",
    }
}

/// `balanceAfterTransaction`: a Berlin Group [`Balance`] object, or a plain [`Amount`]
/// (both shapes are seen in PSD2 APIs; SEB's own documents do not show which it sends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(untagged)]
pub enum BalanceAfterTransaction {
    /// `{"balanceType": …, "balanceAmount": {…}}`.
    Balance(Balance),
    /// `{"amount": "…", "currency": "…"}`.
    Amount(Amount),
}

impl BalanceAfterTransaction {
    /// The amount, whichever shape was sent.
    pub fn amount(&self) -> &Amount {
        match self {
            BalanceAfterTransaction::Balance(b) => &b.balance_amount,
            BalanceAfterTransaction::Amount(a) => a,
        }
    }
}

/// One booked or pending transaction, also the body of the transaction details endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Id for the details endpoint (present when details exist).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Bank's entry reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_reference: Option<String>,
    /// End-to-end id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_id: Option<String>,
    /// Booking date `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_date: Option<String>,
    /// Value date `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_date: Option<String>,
    /// Date of the purchase (SEB card transactions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_date: Option<String>,
    /// Signed amount: negative for money leaving the account.
    pub transaction_amount: Amount,
    /// Amount in the original currency (SEB card transactions abroad).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_amount: Option<Amount>,
    /// Exchange information. SEB v7 sends an object (`{"exchangeRate": "10,1200"}`, note the
    /// comma), Berlin Group a list, so it is kept as raw JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", tsify(type = "unknown"))]
    pub currency_exchange: Option<Value>,
    /// Creditor's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_name: Option<String>,
    /// Creditor's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_account: Option<AccountReference>,
    /// Debtor's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_name: Option<String>,
    /// Debtor's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_account: Option<AccountReference>,
    /// Message / reference text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_information_unstructured: Option<String>,
    /// Several message lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_information_unstructured_array: Option<Vec<String>>,
    /// Structured reference (OCR etc.); a string in Berlin Group, an object at SEB PIS.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", tsify(type = "unknown"))]
    pub remittance_information_structured: Option<Value>,
    /// SEB's description of the entry as shown in the bank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descriptive_text: Option<String>,
    /// Bank's own transaction code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proprietary_bank_transaction_code: Option<String>,
    /// Text for the bank's own transaction code (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proprietary_bank_transaction_code_text: Option<String>,
    /// ISO 20022 bank transaction code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_transaction_code: Option<String>,
    /// Balance after this transaction (booked only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_after_transaction: Option<BalanceAfterTransaction>,
    /// `upcoming` or `reserved` (SEB, pending transactions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_type: Option<PendingType>,
    /// Additional free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<String>,
    /// Links, e.g. `transactionDetails`.
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl Transaction {
    /// A transaction with only an amount; fill in the rest with struct update syntax
    /// or field assignment.
    pub fn new(transaction_amount: Amount) -> Self {
        Self {
            transaction_id: None,
            entry_reference: None,
            end_to_end_id: None,
            booking_date: None,
            value_date: None,
            transaction_date: None,
            transaction_amount,
            original_amount: None,
            currency_exchange: None,
            creditor_name: None,
            creditor_account: None,
            debtor_name: None,
            debtor_account: None,
            remittance_information_unstructured: None,
            remittance_information_unstructured_array: None,
            remittance_information_structured: None,
            descriptive_text: None,
            proprietary_bank_transaction_code: None,
            proprietary_bank_transaction_code_text: None,
            bank_transaction_code: None,
            balance_after_transaction: None,
            pending_type: None,
            additional_information: None,
            links: None,
            extra: Map::new(),
        }
    }
}

/// The body of `GET /accounts/{id}/transactions/{transactionId}` at SEB v7: one
/// transaction object (Berlin Group would wrap it in `transactionsDetails`).
pub type TransactionDetails = Transaction;

/// `"transactions": {"booked": [...], "pending": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
pub struct AccountReport {
    /// Booked transactions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booked: Option<Vec<Transaction>>,
    /// Pending transactions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Vec<Transaction>>,
    /// Berlin Group "information" entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information: Option<Vec<Transaction>>,
    /// Links inside the report (Berlin Group puts `next` here; SEB at the top level).
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// `GET /accounts/{id}/transactions` →
/// `{"transactions": {"booked": [...], "pending": [...]}, "_links": {"account", "next"}}`.
///
/// ```
/// let page: valv_psd2::TransactionsResponse = serde_json::from_str(r#"{
///   "transactions": {"booked": [{"transactionId": "t1", "bookingDate": "2024-01-02",
///     "transactionAmount": {"amount": "-63.0", "currency": "SEK"}}]},
///   "_links": {"next": {"href": "/accounts/a1/transactions?transactionSequenceNumber=2"}}
/// }"#).unwrap();
/// assert_eq!(page.next_link(), Some("/accounts/a1/transactions?transactionSequenceNumber=2"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
pub struct TransactionsResponse {
    /// The account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountReference>,
    /// The transactions.
    pub transactions: AccountReport,
    /// Balances, if the bank adds them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balances: Option<Vec<Balance>>,
    /// Links: `account`, `next`, …
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl TransactionsResponse {
    /// The next page's href, from the top-level `_links` (SEB) or the report's (Berlin Group).
    pub fn next_link(&self) -> Option<&str> {
        self.links.as_ref().and_then(Links::next).or_else(|| self.transactions.links.as_ref().and_then(Links::next))
    }
}
