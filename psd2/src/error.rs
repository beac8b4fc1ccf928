//! Error bodies as the bank sends them.
//!
//! - AIS / PIS: RFC 7807 [`Problem`] with a Berlin Group `code`, sometimes with
//!   `tppMessages` ([`TppMessage`], plain strings or objects).
//! - OAuth token endpoint: RFC 6749 [`OAuthError`].
//! - Decoupled auth v3: [`AuthV3Error`] `{"detail", "title", "status", "type"}`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Map;

use crate::macros::open_enum;
use crate::Links;
use crate::OtherMembers;

/// The `type` URL prefix SEB uses for Berlin Group codes.
pub const BERLIN_GROUP_ERROR_TYPE_PREFIX: &str = "https://berlingroup.com/error-codes/";

open_enum! {
    /// `category` of a Berlin Group TPP message.
    pub enum TppMessageCategory {
        /// An error.
        Error => "ERROR",
        /// A warning.
        Warning => "WARNING",
    }
}

/// A Berlin Group TPP message object: `{"category": "ERROR", "code": "FORMAT_ERROR",
/// "path": "…", "text": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
pub struct TppMessageDetails {
    /// `ERROR` or `WARNING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<TppMessageCategory>,
    /// Berlin Group code, e.g. `FORMAT_ERROR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Path of the offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Human text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// An entry of `tppMessages`. SEB sends plain strings
/// (`"A similar payment is already in upcoming events."`) as well as Berlin Group objects.
///
/// ```
/// use valv_psd2::TppMessage;
/// let msgs: Vec<TppMessage> = serde_json::from_str(
///     r#"["Customer must open Mobile BankId application",
///         {"category": "ERROR", "code": "FORMAT_ERROR", "text": "bad iban"}]"#).unwrap();
/// assert_eq!(msgs[0].text(), Some("Customer must open Mobile BankId application"));
/// assert_eq!(msgs[1].code(), Some("FORMAT_ERROR"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(untagged)]
pub enum TppMessage {
    /// A plain string message.
    Text(String),
    /// A Berlin Group message object.
    Details(TppMessageDetails),
}

impl TppMessage {
    /// The human text of the message.
    pub fn text(&self) -> Option<&str> {
        match self {
            TppMessage::Text(t) => Some(t),
            TppMessage::Details(d) => d.text.as_deref(),
        }
    }

    /// The Berlin Group code, if the message is an object with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TppMessage::Text(_) => None,
            TppMessage::Details(d) => d.code.as_deref(),
        }
    }
}

/// An entry of a problem's `additionalErrors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
pub struct AdditionalError {
    /// Short title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Detail text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Berlin Group code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

/// An RFC 7807 problem object as SEB's AIS/PIS send it:
/// `{"type": "https://berlingroup.com/error-codes/RESOURCE_UNKNOWN", "title": "…",
/// "status": 404, "detail": "…", "code": "RESOURCE_UNKNOWN"}`.
///
/// Every member is optional so that any error body of these APIs parses, including the
/// Berlin Group `{"tppMessages": [...]}` form.
///
/// ```
/// use valv_psd2::Problem;
/// let p = Problem::berlin_group(404, "RESOURCE_UNKNOWN", "Account not found");
/// let v = serde_json::to_value(&p).unwrap();
/// assert_eq!(v["type"], "https://berlingroup.com/error-codes/RESOURCE_UNKNOWN");
/// assert_eq!(v["title"], "The addressed resource is unknown relative to the TPP");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// URI of the problem type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Short summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Berlin Group code, e.g. `TOKEN_INVALID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// URI of this occurrence (SEB asks to quote it to support).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Further errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_errors: Option<Vec<AdditionalError>>,
    /// Berlin Group messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpp_messages: Option<Vec<TppMessage>>,
    /// Links.
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl Problem {
    /// A problem for a Berlin Group code, with SEB's `type` URL and the standard title
    /// ([`berlin_group_title`]).
    pub fn berlin_group(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: Some(format!("{BERLIN_GROUP_ERROR_TYPE_PREFIX}{code}")),
            title: Some(berlin_group_title(code).to_owned()),
            status: Some(status),
            detail: Some(detail.into()),
            code: Some(code.to_owned()),
            ..Self::default()
        }
    }

    /// The Berlin Group code: `code`, else the last segment of a Berlin Group `type` URL,
    /// else the first `tppMessages` code.
    pub fn error_code(&self) -> Option<&str> {
        self.code
            .as_deref()
            .or_else(|| self.type_.as_deref().and_then(|t| t.strip_prefix(BERLIN_GROUP_ERROR_TYPE_PREFIX)))
            .or_else(|| self.tpp_messages.as_ref().and_then(|m| m.iter().find_map(TppMessage::code)))
    }
}

impl std::fmt::Display for Problem {
    /// `status code: title — detail`, leaving out what is absent.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sep = "";
        if let Some(status) = self.status {
            write!(f, "{status}")?;
            sep = " ";
        }
        if let Some(code) = self.error_code() {
            write!(f, "{sep}{code}")?;
            sep = ": ";
        } else if !sep.is_empty() {
            sep = ": ";
        }
        if let Some(title) = &self.title {
            write!(f, "{sep}{title}")?;
            sep = " — ";
        }
        if let Some(detail) = &self.detail {
            write!(f, "{sep}{detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// The Berlin Group NextGenPSD2 title for an error code (`"Request failed"` if unknown).
pub fn berlin_group_title(code: &str) -> &'static str {
    match code {
        "FORMAT_ERROR" => "Format of certain request fields are not matching the XS2A requirements",
        "PARAMETER_NOT_CONSISTENT" => "Parameters submitted by TPP are not consistent",
        "PARAMETER_NOT_SUPPORTED" => "The parameter is not supported by the API provider",
        "PERIOD_INVALID" => "Requested time period out of bound",
        "SERVICE_INVALID" => "The addressed service is not valid for the addressed resources or the submitted data",
        "SERVICE_BLOCKED" => "This service is not reachable for the addressed PSU due to a channel independent blocking by the ASPSP",
        "TOKEN_UNKNOWN" => "The OAuth2 token cannot be matched by the ASPSP relative to the TPP",
        "TOKEN_INVALID" => "The OAuth2 token is associated to the TPP but is not valid for the addressed service/resource",
        "TOKEN_EXPIRED" => "The OAuth2 token is associated to the TPP but has expired and needs to be renewed",
        "CERTIFICATE_INVALID" => "The contents of the signature/corporate seal certificate are not matching PSD2 general requirements",
        "RESOURCE_UNKNOWN" => "The addressed resource is unknown relative to the TPP",
        "RESOURCE_EXPIRED" => "The addressed resource is associated with the TPP but has expired, not addressable anymore",
        "ACCESS_EXCEEDED" => "The access on the account has been exceeding the consented multiplicity without PSU involvement",
        "REQUESTED_FORMATS_INVALID" => "The requested formats in the Accept header entry are not matching the formats offered by the ASPSP",
        "PAYMENT_FAILED" => "The payment initiation POST request failed during the initial process",
        "EXECUTION_DATE_INVALID" => "The requested execution date is not a valid execution date for the ASPSP",
        "PRODUCT_INVALID" => "The addressed payment product is not available for the PSU",
        "PRODUCT_UNKNOWN" => "The addressed payment product is not supported by the ASPSP",
        "CANCELLATION_INVALID" => "The addressed payment is not cancellable",
        "STATUS_INVALID" => "The addressed resource does not allow addressing the requested status",
        "FUNDS_NOT_AVAILABLE" => "Funds are not available for the payment",
        "INTERNAL_SERVER_ERROR" => "Internal server error",
        "SERVICE_UNAVAILABLE" => "The service is temporarily unavailable",
        _ => "Request failed",
    }
}

/// An RFC 6749 §5.2 error: `{"error": "invalid_grant", "error_description": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, or (authorize redirect) `access_denied`.
    pub error: String,
    /// Human text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Link to documentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    /// Members this crate does not model (SEB's example has a misspelled
    /// `error_descriptions`), kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl OAuthError {
    /// An error with a code and a description.
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> Self {
        Self { error: error.into(), error_description: Some(description.into()), error_uri: None, extra: Map::new() }
    }
}

/// SEB's decoupled auth v3 error: `{"detail": null, "title": "…", "status": 422,
/// "type": "Invalid parameter value"}`.
///
/// `detail` distinguishes absent (`None`) from `null` (`Some(None)`), because SEB sends
/// an explicit `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthV3Error {
    /// Detail text; `Some(None)` is an explicit `null`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub detail: Option<Option<String>>,
    /// Human text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Kind of error, e.g. `Invalid parameter value` (not a URI at SEB).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl AuthV3Error {
    /// An error as SEB sends it, with `"detail": null`.
    pub fn new(status: u16, type_: impl Into<String>, title: impl Into<String>) -> Self {
        Self { detail: Some(None), title: Some(title.into()), status: Some(status), type_: Some(type_.into()), extra: Map::new() }
    }
}

/// Serde helpers for `Option<Option<T>>`: absent → `None`, `null` → `Some(None)`.
/// Use with `#[serde(default, skip_serializing_if = "Option::is_none", with = "…")]`.
pub(crate) mod nullable {
    use super::*;

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
