//! Strong customer authentication (SCA): authorisation resources of payments, periodic
//! payments and signing baskets.
//!
//! - `POST …/{paymentId}/authorisations` with [`StartAuthorisationRequest`] →
//!   201 [`Authorisation`] (`scaStatus: scaMethodSelected`)
//! - `GET …/{paymentId}/authorisations` → [`AuthorisationList`]
//! - `GET …/{paymentId}/authorisations/{authorisationId}` → [`Authorisation`]
//!   (`started` with `psuMessage` "Signera med mobilt BankID", later `finalised`)

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::TppMessage;
use crate::macros::open_enum;
use crate::Links;
use crate::OtherMembers;

open_enum! {
    /// `scaStatus` (Berlin Group). SEB's examples also show `finalized` and
    /// `SCA Initiated`, which parse as `Other`.
    pub enum ScaStatus {
        /// Authorisation resource created.
        Received => "received",
        /// The PSU is identified.
        PsuIdentified => "psuIdentified",
        /// The PSU is authenticated.
        PsuAuthenticated => "psuAuthenticated",
        /// An SCA method was chosen.
        ScaMethodSelected => "scaMethodSelected",
        /// The SCA is in progress (e.g. waiting for Mobile BankID).
        Started => "started",
        /// Waiting for a confirmation.
        Unconfirmed => "unconfirmed",
        /// Signed.
        Finalised => "finalised",
        /// Failed.
        Failed => "failed",
        /// No SCA needed.
        Exempted => "exempted",
    }
}

impl ScaStatus {
    /// `true` for `finalised`, `failed` and `exempted` (also SEB's spelling `finalized`).
    pub fn is_final(&self) -> bool {
        match self {
            ScaStatus::Finalised | ScaStatus::Failed | ScaStatus::Exempted => true,
            ScaStatus::Other(s) => s == "finalized",
            _ => false,
        }
    }
}

/// An SCA method: `{"authenticationMethodId": "mobiltbankid", "authenticationType": …,
/// "name": …, "explanation": …}`. All members optional: SEB sends `"chosenScaMethod": {}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationObject {
    /// Method id; at SEB `mobiltbankid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_method_id: Option<String>,
    /// Type, e.g. `PUSH_OTP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_type: Option<String>,
    /// Version of the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_version: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Explanation for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl AuthenticationObject {
    /// SEB's Mobile BankID method (`mobiltbankid`).
    pub fn mobilt_bankid() -> Self {
        Self {
            authentication_method_id: Some("mobiltbankid".to_owned()),
            authentication_type: Some("PUSH_OTP".to_owned()),
            name: Some("Mobilt BankID".to_owned()),
            ..Self::default()
        }
    }
}

/// Body of `POST …/authorisations`: `{"authenticationMethodId": "mobiltbankid"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartAuthorisationRequest {
    /// The chosen method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_method_id: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// An authorisation (SCA) resource, as returned when starting it and when reading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Authorisation {
    /// Id of the authorisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_id: Option<String>,
    /// Where the SCA stands.
    pub sca_status: ScaStatus,
    /// Signing basket this authorises (basket authorisations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basket_id: Option<String>,
    /// Payments covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_ids: Option<Vec<String>>,
    /// Methods to choose from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_methods: Option<Vec<AuthenticationObject>>,
    /// The chosen method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_sca_method: Option<AuthenticationObject>,
    /// Berlin Group challenge data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", tsify(type = "unknown"))]
    pub challenge_data: Option<Value>,
    /// Text for the user, e.g. "Signera med mobilt BankID".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psu_message: Option<String>,
    /// BankID animated QR data, new every second (SEB, method `bankIdQr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_data: Option<String>,
    /// The token that starts BankID on this device (SEB, `bankIdSameDevice`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start_token: Option<String>,
    /// Messages for the TPP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpp_messages: Option<Vec<TppMessage>>,
    /// Links: `self`, `scaRedirect`, `scaStatus`, …
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl Authorisation {
    /// An authorisation with an id and a status.
    pub fn new(authorisation_id: impl Into<String>, sca_status: ScaStatus) -> Self {
        Self {
            authorisation_id: Some(authorisation_id.into()),
            sca_status,
            basket_id: None,
            payment_ids: None,
            sca_methods: None,
            chosen_sca_method: None,
            challenge_data: None,
            psu_message: None,
            qr_data: None,
            auto_start_token: None,
            tpp_messages: None,
            links: None,
            extra: Map::new(),
        }
    }
}

/// `GET …/authorisations` → `{"authorisationIds": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorisationList {
    /// Ids of the authorisations.
    pub authorisation_ids: Vec<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}
