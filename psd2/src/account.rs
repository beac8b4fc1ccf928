//! Account Information: accounts, account references and balances.
//!
//! - `GET /accounts?withBalance=` → [`AccountList`]
//! - `GET /accounts/{resourceId}?withBalance=` → [`AccountDetails`] (SEB v7 returns the
//!   account object itself, not wrapped in `{"account": …}`)
//! - `GET /accounts/{resourceId}/balances` → [`BalancesResponse`]

use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::amount::{Amount, DecimalString};
use crate::macros::open_enum;
use crate::Links;
use crate::OtherMembers;

/// Identifies an account: `{"iban": "SE37…"}`, `{"bgnr": "8080-1111"}`, `{"pgnr": "12345678"}`, …
///
/// Every member is optional; which one is required depends on the payment product
/// (see `PaymentProduct`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AccountReference {
    /// IBAN, e.g. `SE3750000000054400047881`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// Basic bank account number (Swedish clearing + account number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bban: Option<String>,
    /// Swedish Bankgiro number (SEB), e.g. `8080-1111`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgnr: Option<String>,
    /// Swedish PlusGiro number (SEB), e.g. `12345678`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pgnr: Option<String>,
    /// Card number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pan: Option<String>,
    /// Masked card number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_pan: Option<String>,
    /// Mobile phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<String>,
    /// BIC of the account's bank (SEB sends it with `bban` in transaction details and
    /// accepts it in funds confirmation requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// Account currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl AccountReference {
    /// A reference by IBAN.
    pub fn iban(iban: impl Into<String>) -> Self {
        Self { iban: Some(iban.into()), ..Self::default() }
    }

    /// A reference by BBAN.
    pub fn bban(bban: impl Into<String>) -> Self {
        Self { bban: Some(bban.into()), ..Self::default() }
    }

    /// A reference by Bankgiro number.
    pub fn bankgiro(bgnr: impl Into<String>) -> Self {
        Self { bgnr: Some(bgnr.into()), ..Self::default() }
    }

    /// A reference by PlusGiro number.
    pub fn plusgiro(pgnr: impl Into<String>) -> Self {
        Self { pgnr: Some(pgnr.into()), ..Self::default() }
    }
}

open_enum! {
    /// `status` of an account.
    pub enum AccountStatus {
        /// In use.
        Enabled => "enabled",
        /// Closed.
        Deleted => "deleted",
        /// Blocked.
        Blocked => "blocked",
    }
}

open_enum! {
    /// `balanceType` of a balance. SEB v7 sends `interimBooked` and `interimAvailable`.
    pub enum BalanceType {
        /// Balance at the end of a closed booking period.
        ClosingBooked => "closingBooked",
        /// Balance including expected entries.
        Expected => "expected",
        /// Balance at the start of a booking period.
        OpeningBooked => "openingBooked",
        /// Available balance now (booked, reserved and pending; with `creditLimitIncluded`).
        InterimAvailable => "interimAvailable",
        /// Balance of booked transactions now.
        InterimBooked => "interimBooked",
        /// Forward available balance.
        ForwardAvailable => "forwardAvailable",
        /// Non-invoiced card amount.
        NonInvoiced => "nonInvoiced",
    }
}

/// One balance: `{"balanceType": "interimAvailable", "creditLimitIncluded": true,
/// "balanceAmount": {"amount": "40055.940", "currency": "SEK"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// The balance.
    pub balance_amount: Amount,
    /// Which balance this is.
    pub balance_type: BalanceType,
    /// Whether a credit line is included in the amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_limit_included: Option<bool>,
    /// When the balance last changed (ISO 8601 date-time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_change_date_time: Option<String>,
    /// The date the balance refers to (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_date: Option<String>,
    /// Id of the last transaction included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_committed_transaction: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl Balance {
    /// A balance of the given type.
    pub fn new(balance_type: BalanceType, balance_amount: Amount) -> Self {
        Self {
            balance_amount,
            balance_type,
            credit_limit_included: None,
            last_change_date_time: None,
            reference_date: None,
            last_committed_transaction: None,
            extra: Map::new(),
        }
    }
}

/// An account as listed by `GET /accounts` and returned by `GET /accounts/{resourceId}`.
///
/// ```
/// let acc: valv_psd2::AccountDetails = serde_json::from_str(r#"{
///   "resourceId": "a1", "iban": "SE8050000000052800025220", "currency": "SEK",
///   "creditLine": "20000.000", "product": "Privatkonto",
///   "_links": {"transactions": {"href": "/accounts/a1/transactions?bookingStatus=booked"}}
/// }"#).unwrap();
/// assert_eq!(acc.links.as_ref().and_then(|l| l.get("transactions")),
///            Some("/accounts/a1/transactions?bookingStatus=booked"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AccountDetails {
    /// The id to use in `/accounts/{resourceId}` paths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// IBAN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// BBAN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bban: Option<String>,
    /// BIC of the account (in SEB's account details).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// Mobile phone number alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<String>,
    /// Account currency (SEB has sent `"xxx"` for closed accounts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Account name given by the bank or the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Product name, e.g. `Privatkonto`, `Enkla sparkonto`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// ISO 20022 cash account type, e.g. `CACC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash_account_type: Option<String>,
    /// `enabled`, `deleted`, `blocked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AccountStatus>,
    /// `PRIV` or `ORGA`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// Free-text details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Name of the account owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    /// Credit line (SEB), e.g. `"20000.000"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_line: Option<DecimalString>,
    /// Balances, when requested with `withBalance=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balances: Option<Vec<Balance>>,
    /// Links: `transactions`, `balances`, …
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model (SEB's `cardLinkedToAccount`, `paymentService`,
    /// `accountInterest`, `aliases`, `accountOwners`, …), kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// Query of `GET /accounts` and `GET /accounts/{id}`: `?withBalance=true`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountsQuery {
    /// Include `balances` in each account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_balance: Option<bool>,
}

/// The client-facing name of an account (`valv.accounts()` returns `Account[]`).
pub type Account = AccountDetails;

/// `GET /accounts` → `{"accounts": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountList {
    /// The user's accounts.
    pub accounts: Vec<AccountDetails>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// `GET /accounts/{resourceId}/balances` → `{"account": {...}, "balances": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BalancesResponse {
    /// The account the balances belong to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountReference>,
    /// The balances.
    pub balances: Vec<Balance>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}
