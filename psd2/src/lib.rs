//! SEB / Berlin Group NextGenPSD2 data model: serde types for what SEB's Account
//! Information v7 and Payment Initiation v7 APIs (and their OAuth / decoupled auth
//! endpoints) send and accept.
//!
//! Principles:
//! - Field names are the API's (camelCase; `_links` is [`Links`]).
//! - Amounts are exact: [`DecimalString`] keeps the decimal text byte for byte, never `f64`.
//! - Tolerant reader: unknown members land in each object's `extra` map and are written
//!   back on serialisation, and enums have an `Other(String)` variant, so a new field or
//!   value from the bank breaks nothing and round-trips.
//! - Optional members are omitted when `None`.
//!
//! Modules by API area: [`account`], [`transaction`], [`payment`], [`sca`], [`error`],
//! [`oauth`], plus [`amount`], [`date`], [`links`] and [`validation`] (per-product checks of a
//! payment initiation body). The main types are re-exported
//! at the crate root.
//!
//! With the `ts` feature the models also declare their TypeScript types (`tsify`, and
//! hand-written declarations for the types with hand-written serde), which the WebAssembly
//! client's `.d.ts` carries.
//!
//! # Example
//!
//! ```
//! use valv_psd2::{AccountList, BalanceType};
//!
//! let body = r#"{"accounts": [{
//!     "resourceId": "a1b2c3", "iban": "SE8050000000052800025220", "bban": "52800025220",
//!     "status": "enabled", "currency": "SEK", "ownerName": "Olle", "creditLine": "20000.000",
//!     "product": "Privatkonto", "name": "Lönekonto",
//!     "balances": [{"balanceType": "interimAvailable", "creditLimitIncluded": true,
//!                   "balanceAmount": {"amount": "40055.940", "currency": "SEK"}}],
//!     "_links": {"transactions": {"href": "/accounts/a1b2c3/transactions?bookingStatus=booked"}},
//!     "someNewField": {"kept": true}
//! }]}"#;
//!
//! let list: AccountList = serde_json::from_str(body)?;
//! let account = &list.accounts[0];
//! let balance = &account.balances.as_ref().unwrap()[0];
//! assert_eq!(balance.balance_type, BalanceType::InterimAvailable);
//! assert_eq!(balance.balance_amount.amount.as_str(), "40055.940"); // exact text
//! assert!(!balance.balance_amount.is_negative());
//! assert_eq!(account.links.as_ref().unwrap().get("transactions"),
//!            Some("/accounts/a1b2c3/transactions?bookingStatus=booked"));
//!
//! // Unknown members survive a round trip.
//! let back = serde_json::to_value(&list)?;
//! assert_eq!(back, serde_json::from_str::<serde_json::Value>(body)?);
//! # Ok::<(), serde_json::Error>(())
//! ```

mod macros;

pub mod account;
pub mod amount;
pub mod date;
pub mod error;
pub mod links;
pub mod oauth;
pub mod payment;
pub mod sca;
pub mod transaction;
#[cfg(feature = "ts")]
mod ts;
pub mod validation;

/// Members of a JSON object that its model does not name, kept as the bank sent them so that
/// they round-trip (each object's `extra`).
pub type OtherMembers = serde_json::Map<String, serde_json::Value>;

pub use account::{
    Account, AccountDetails, AccountList, AccountReference, AccountStatus, AccountsQuery, Balance, BalanceType, BalancesResponse,
};
pub use amount::{is_currency_code, Amount, AmountError, DecimalString};
pub use date::{validate_iso_date, DateError, IsoDate};
pub use error::{berlin_group_title, AdditionalError, AuthV3Error, OAuthError, Problem, TppMessage, TppMessageCategory, TppMessageDetails};
pub use links::{Href, Links};
pub use oauth::{
    DecoupledAuthorizationCreated, DecoupledAuthorizationRequest, DecoupledAuthorizationStatus, DecoupledStatus, DecoupledTokenRequest,
    MockLoginRequest, TokenRequest, TokenResponse,
};
pub use payment::{
    Address, AgentOther, FundsConfirmationRequest, FundsConfirmationResponse, PaymentCancellationResponse, PaymentInitiation,
    PaymentInitiationResponse, PaymentProduct, PaymentStatusResponse, PaymentTemplate, RegulatoryReporting,
    RemittanceInformationStructured, ResetResponse, SigningBasket, SigningBasketRequest, TemplateList, TemplateSummary, TransactionStatus,
};
pub use sca::{AuthenticationObject, Authorisation, AuthorisationList, ScaStatus, StartAuthorisationRequest};
pub use transaction::{
    AccountReport, BalanceAfterTransaction, BookingStatus, PendingType, Transaction, TransactionDetails, TransactionsQuery,
    TransactionsResponse, UnknownBookingStatus,
};
pub use validation::{AccountNumbers, FieldError, FundsFields, PaymentFields};
