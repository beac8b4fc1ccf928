//! Payment Initiation v7: products, initiation bodies and responses, status, cancellation
//! and templates.
//!
//! | request | body | response |
//! | --- | --- | --- |
//! | `GET /templates` | | [`TemplateList`] |
//! | `GET /templates/{templateId}` | | [`PaymentTemplate`] |
//! | `POST /payments/{product}` | [`PaymentInitiation`] | 201 [`PaymentInitiationResponse`] |
//! | `GET /payments/{product}/{id}` | | [`PaymentInitiation`] |
//! | `GET /payments/{product}/{id}/status` | | [`PaymentStatusResponse`] |
//! | `DELETE /payments/{product}/{id}` | | 204, or 202 [`PaymentCancellationResponse`] |
//! | `PATCH /payments/mock/resetall` (sandbox) | | [`ResetResponse`] |
//!
//! Periodic payments (`/periodic-payments/{product}`) use the same types with
//! `startDate`/`frequency`/`endDate` set.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::account::AccountReference;
use crate::amount::Amount;
use crate::error::TppMessage;
use crate::macros::open_enum;
use crate::sca::{AuthenticationObject, ScaStatus};
use crate::Links;
use crate::OtherMembers;

open_enum! {
    /// A payment product — at SEB the template id in `/payments/{product}` and `templateId`.
    ///
    /// ```
    /// use valv_psd2::PaymentProduct;
    /// let p: PaymentProduct = "swedish-domestic-private-bankgiros".parse().unwrap();
    /// assert_eq!(p, PaymentProduct::SwedishDomesticPrivateBankgiros);
    /// assert_eq!(p.as_str(), "swedish-domestic-private-bankgiros");
    /// assert!(!PaymentProduct::from("instant-sepa").is_known());
    /// ```
    pub enum PaymentProduct {
        /// Swedish domestic transfer to an account (iban/bban); messages ≤ 12 characters.
        SwedishDomesticPrivateCreditTransfers => "swedish-domestic-private-credit-transfers",
        /// Payment to a Bankgiro number (`creditorAccount.bgnr`), usually with an OCR reference.
        SwedishDomesticPrivateBankgiros => "swedish-domestic-private-bankgiros",
        /// Payment to a PlusGiro number (`creditorAccount.pgnr`).
        SwedishDomesticPrivatePlusgiros => "swedish-domestic-private-plusgiros",
        /// Transfer between the user's own accounts (no signing needed at SEB).
        SwedishDomesticPrivateOwnAccountsTransfers => "swedish-domestic-private-own-accounts-transfers",
        /// SEPA credit transfer in euro.
        SepaCreditTransfers => "sepa-credit-transfers",
        /// Cross-border (international) transfer.
        CrossBorderCreditTransfers => "cross-border-credit-transfers",
        /// High-value (urgent) transfer.
        HighValueCreditTransfers => "high-value-credit-transfers",
    }
}

open_enum! {
    /// `transactionStatus` of a payment or signing basket (ISO 20022 codes).
    pub enum TransactionStatus {
        /// AcceptedSettlementCompletedCreditor.
        Accc => "ACCC",
        /// AcceptedCustomerProfile.
        Accp => "ACCP",
        /// AcceptedSettlementCompleted (debited).
        Acsc => "ACSC",
        /// AcceptedSettlementInProcess.
        Acsp => "ACSP",
        /// AcceptedTechnicalValidation.
        Actc => "ACTC",
        /// AcceptedWithChange.
        Acwc => "ACWC",
        /// AcceptedWithoutPosting.
        Acwp => "ACWP",
        /// Received.
        Rcvd => "RCVD",
        /// Pending.
        Pdng => "PDNG",
        /// Rejected.
        Rjct => "RJCT",
        /// Cancelled.
        Canc => "CANC",
        /// AcceptedFundsChecked.
        Acfc => "ACFC",
        /// PartiallyAcceptedTechnicalCorrect.
        Patc => "PATC",
        /// PartiallyAccepted.
        Part => "PART",
    }
}

impl TransactionStatus {
    /// `true` for states a payment does not leave (`ACCC`, `ACSC`, `RJCT`, `CANC`).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Accc | Self::Acsc | Self::Rjct | Self::Canc)
    }
}

/// `remittanceInformationStructured`: `{"reference": "234634699", "referenceType": "OCR"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RemittanceInformationStructured {
    /// The reference, e.g. an OCR number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `OCR`, `SCOR`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_type: Option<String>,
    /// Issuer of the reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_issuer: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// A postal address: `{"street", "city", "postalCode", "country"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street and number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Building number (Berlin Group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_number: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country (ISO 3166 code expected; SEB examples also show free text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// SEB's `creditorAgentOther`: `{"clearingSystemId": "GBDSC", "memberId": "404865"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AgentOther {
    /// Clearing system, e.g. `GBDSC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearing_system_id: Option<String>,
    /// Member id in that system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// An entry of SEB's `regulatoryReporting` (cross-border payments).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RegulatoryReporting {
    /// `DEBT`, `CRED` or `BOTH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debit_credit_reporting_indicator: Option<String>,
    /// Reporting code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporting_code: Option<String>,
    /// Reporting text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporting_information: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// A payment as sent to `POST /payments/{product}` (and `/periodic-payments/{product}`),
/// as returned by `GET /payments/{product}/{id}`, and as a template
/// ([`PaymentTemplate`]).
///
/// ```
/// use valv_psd2::{AccountReference, Amount, PaymentInitiation, PaymentProduct};
/// let mut p = PaymentInitiation::new(
///     Amount::parse("99.50", "SEK").unwrap(),
///     AccountReference::iban("SE3750000000054400047881"),
///     AccountReference::iban("SE2550000000054400047903"),
/// );
/// p.template_id = Some(PaymentProduct::SwedishDomesticPrivateCreditTransfers);
/// p.requested_execution_date = Some("2030-01-15".into());
/// let json = serde_json::to_value(&p).unwrap();
/// assert_eq!(json["instructedAmount"]["amount"], "99.50");
/// assert_eq!(json["templateId"], "swedish-domestic-private-credit-transfers");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct PaymentInitiation {
    /// The product / template id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<PaymentProduct>,
    /// Amount to pay.
    pub instructed_amount: Amount,
    /// Account to pay from.
    pub debtor_account: AccountReference,
    /// Account to pay to (`iban`/`bban`, `bgnr`, `pgnr` by product).
    pub creditor_account: AccountReference,
    /// Payee name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_name: Option<String>,
    /// Payee address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_address: Option<Address>,
    /// Payee's bank BIC (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_agent_bic: Option<String>,
    /// Payee's bank by clearing system (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_agent_other: Option<AgentOther>,
    /// Further payee details; a string in SEB's template, an object in its payment example.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", tsify(type = "unknown"))]
    pub creditor_details: Option<Value>,
    /// Message shown to the payee (SEB; ≤ 12 characters for domestic transfers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_account_message: Option<String>,
    /// Message shown on the payer's own statement (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_account_message: Option<String>,
    /// Payer's bank BIC (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_agent_bic: Option<String>,
    /// Whether the payer wants a receipt (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_receipt: Option<bool>,
    /// Intermediary bank BIC (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intermediary_agent_bic: Option<String>,
    /// End-to-end id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_identification: Option<String>,
    /// Instruction id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction_id: Option<String>,
    /// Charges text (SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_charges: Option<String>,
    /// Category purpose code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_purpose: Option<String>,
    /// `DEBT`, `CRED`, `SHAR`, `SLEV`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_bearer: Option<String>,
    /// Regulatory reporting (cross-border).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regulatory_reporting: Option<Vec<RegulatoryReporting>>,
    /// Structured reference (OCR for Bankgiro/PlusGiro).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_information_structured: Option<RemittanceInformationStructured>,
    /// Free-text message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_information_unstructured: Option<String>,
    /// Execution date `YYYY-MM-DD` (check with [`crate::validate_iso_date`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_execution_date: Option<String>,
    /// Periodic payments: first date `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Periodic payments: last date `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// Periodic payments: e.g. `monthly` (SEB) / `Monthly` (Berlin Group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    /// Periodic payments: `following` / `preceding`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_rule: Option<String>,
    /// Periodic payments: day of execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_of_execution: Option<String>,
    /// Status, in `GET` responses only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_status: Option<TransactionStatus>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl PaymentInitiation {
    /// A payment with the required members; set the rest by field.
    pub fn new(instructed_amount: Amount, debtor_account: AccountReference, creditor_account: AccountReference) -> Self {
        Self {
            template_id: None,
            instructed_amount,
            debtor_account,
            creditor_account,
            creditor_name: None,
            creditor_address: None,
            creditor_agent_bic: None,
            creditor_agent_other: None,
            creditor_details: None,
            creditor_account_message: None,
            debtor_account_message: None,
            debtor_agent_bic: None,
            debtor_receipt: None,
            intermediary_agent_bic: None,
            end_to_end_identification: None,
            instruction_id: None,
            bank_charges: None,
            category_purpose: None,
            charge_bearer: None,
            regulatory_reporting: None,
            remittance_information_structured: None,
            remittance_information_unstructured: None,
            requested_execution_date: None,
            start_date: None,
            end_date: None,
            frequency: None,
            execution_rule: None,
            day_of_execution: None,
            transaction_status: None,
            extra: Map::new(),
        }
    }
}

/// `GET /templates/{templateId}`: a partly filled-in payment showing which members the
/// product uses.
pub type PaymentTemplate = PaymentInitiation;

/// An entry of `GET /templates`: `{"templateId", "description", "scope": ["PRIVATE"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct TemplateSummary {
    /// The template id, which is the payment product.
    pub template_id: PaymentProduct,
    /// What the template is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Customer segments, e.g. `PRIVATE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// `GET /templates` returns a bare JSON array.
pub type TemplateList = Vec<TemplateSummary>;

/// 201 response of `POST /payments/{product}` (and `/periodic-payments/{product}`).
///
/// SEB echoes the payment's main members next to `paymentId` and `_links.status`;
/// Berlin Group adds `transactionStatus`, `scaMethods`, … — all modelled as optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct PaymentInitiationResponse {
    /// Id of the new payment.
    pub payment_id: String,
    /// Status of the new payment (usually `RCVD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_status: Option<TransactionStatus>,
    /// The product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<PaymentProduct>,
    /// Echo: amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructed_amount: Option<Amount>,
    /// Echo: payer account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_account: Option<AccountReference>,
    /// Echo: payee account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_account: Option<AccountReference>,
    /// Echo: payee name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_name: Option<String>,
    /// Echo: payee message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_account_message: Option<String>,
    /// Echo: own-statement message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_account_message: Option<String>,
    /// Echo: structured reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_information_structured: Option<RemittanceInformationStructured>,
    /// Echo: free-text message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_information_unstructured: Option<String>,
    /// Echo: execution date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_execution_date: Option<String>,
    /// Echo (periodic): first date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Echo (periodic): last date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// Echo (periodic): frequency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    /// Methods to sign with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_methods: Option<Vec<AuthenticationObject>>,
    /// The chosen method (SEB sends `{}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_sca_method: Option<AuthenticationObject>,
    /// SCA status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_status: Option<ScaStatus>,
    /// Text for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psu_message: Option<String>,
    /// Messages for the TPP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpp_messages: Option<Vec<TppMessage>>,
    /// Links: `status`, `self`, `startAuthorisation…`.
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl PaymentInitiationResponse {
    /// A response with only a payment id; set the rest by field.
    pub fn new(payment_id: impl Into<String>) -> Self {
        Self {
            payment_id: payment_id.into(),
            transaction_status: None,
            template_id: None,
            instructed_amount: None,
            debtor_account: None,
            creditor_account: None,
            creditor_name: None,
            creditor_account_message: None,
            debtor_account_message: None,
            remittance_information_structured: None,
            remittance_information_unstructured: None,
            requested_execution_date: None,
            start_date: None,
            end_date: None,
            frequency: None,
            sca_methods: None,
            chosen_sca_method: None,
            sca_status: None,
            psu_message: None,
            tpp_messages: None,
            links: None,
            extra: Map::new(),
        }
    }
}

/// `GET /payments/{product}/{id}/status` →
/// `{"transactionStatus": "RCVD", "scaMethods": [...], "_links": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct PaymentStatusResponse {
    /// The payment's status.
    pub transaction_status: TransactionStatus,
    /// Whether funds were available (Berlin Group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funds_available: Option<bool>,
    /// Methods to sign with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_methods: Option<Vec<AuthenticationObject>>,
    /// The chosen method (SEB sends `{}` before one is chosen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_sca_method: Option<AuthenticationObject>,
    /// SCA status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_status: Option<ScaStatus>,
    /// Text for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psu_message: Option<String>,
    /// Messages for the TPP; a rejected duplicate has strings here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpp_messages: Option<Vec<TppMessage>>,
    /// Links, e.g. `startAuthorisationWithAuthenticationMethodSelection`.
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl PaymentStatusResponse {
    /// A status response with only the status.
    pub fn new(transaction_status: TransactionStatus) -> Self {
        Self {
            transaction_status,
            funds_available: None,
            sca_methods: None,
            chosen_sca_method: None,
            sca_status: None,
            psu_message: None,
            tpp_messages: None,
            links: None,
            extra: Map::new(),
        }
    }
}

/// 202 response of `DELETE /payments/{product}/{id}`:
/// `{"transactionStatus": "ACTC", "_links": {"status": {...}}}`; `CANC` means deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct PaymentCancellationResponse {
    /// The payment's status after the request.
    pub transaction_status: TransactionStatus,
    /// Methods, if cancelling needs SCA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_methods: Option<Vec<AuthenticationObject>>,
    /// The chosen method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_sca_method: Option<AuthenticationObject>,
    /// Links, e.g. `status`.
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl PaymentCancellationResponse {
    /// A cancellation response with only the status.
    pub fn new(transaction_status: TransactionStatus) -> Self {
        Self { transaction_status, sca_methods: None, chosen_sca_method: None, links: None, extra: Map::new() }
    }
}

/// Response of SEB's sandbox-only `PATCH /payments/mock/resetall`: `{"resultMessage": "…"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetResponse {
    /// What was reset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_message: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// Body of `POST /signing-baskets`: `{"paymentIds": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningBasketRequest {
    /// Payments to sign together.
    #[serde(default)]
    pub payment_ids: Vec<String>,
    /// Consents to sign together (Berlin Group; not used by SEB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_ids: Option<Vec<String>>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// A signing basket, as returned by `POST /signing-baskets` (201) and
/// `GET /signing-baskets/{basketId}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningBasket {
    /// Id of the basket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basket_id: Option<String>,
    /// Payments in the basket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_ids: Option<Vec<String>>,
    /// The basket's status (`RCVD`, `ACTC`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_status: Option<TransactionStatus>,
    /// Methods to sign with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_methods: Option<Vec<AuthenticationObject>>,
    /// The chosen method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_sca_method: Option<AuthenticationObject>,
    /// SCA status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_status: Option<ScaStatus>,
    /// Text for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psu_message: Option<String>,
    /// Messages for the TPP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpp_messages: Option<Vec<TppMessage>>,
    /// Links: `self`, `startAuthorisationWithAuthenticationMethodSelection`, …
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// Body of `POST /funds-confirmations` (under `/cof/v7/identified2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct FundsConfirmationRequest {
    /// The account to check.
    pub account: AccountReference,
    /// The amount needed.
    pub instructed_amount: Amount,
    /// Card number (card-based instruments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    /// Payee name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payee: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl FundsConfirmationRequest {
    /// A request for `instructed_amount` on `account`.
    pub fn new(account: AccountReference, instructed_amount: Amount) -> Self {
        Self { account, instructed_amount, card_number: None, payee: None, extra: OtherMembers::new() }
    }
}

/// Response of `POST /funds-confirmations`: `{"fundsAvailable": true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct FundsConfirmationResponse {
    /// Whether the amount is available.
    pub funds_available: bool,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl FundsConfirmationResponse {
    /// `{"fundsAvailable": <available>}`.
    pub fn new(funds_available: bool) -> Self {
        Self { funds_available, extra: Map::new() }
    }
}

impl TemplateSummary {
    /// A template entry.
    pub fn new(template_id: PaymentProduct, description: impl Into<String>, scope: Vec<String>) -> Self {
        Self { template_id, description: Some(description.into()), scope: Some(scope), extra: Map::new() }
    }
}
