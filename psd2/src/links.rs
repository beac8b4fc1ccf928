//! Hypermedia links: `"_links": {"next": {"href": "/accounts/…"}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::OtherMembers;

/// One link: `{"href": "/accounts/…/transactions?bookingStatus=booked"}`.
///
/// SEB's hrefs are relative to the API base path (e.g. `/ais/v7/identified2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
pub struct Href {
    /// The link target.
    pub href: String,
    /// Members this crate does not model (e.g. `templated`), kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl Href {
    /// A link to `href`.
    pub fn new(href: impl Into<String>) -> Self {
        Self { href: href.into(), extra: Map::new() }
    }
}

/// A `_links` object: link name (`self`, `next`, `account`, `transactions`, `status`,
/// `scaRedirect`, `startAuthorisationWithAuthenticationMethodSelection`, …) to [`Href`].
///
/// ```
/// use valv_psd2::Links;
/// let links = Links::new().with("next", "/accounts/a1/transactions?transactionSequenceNumber=2");
/// assert_eq!(links.next(), Some("/accounts/a1/transactions?transactionSequenceNumber=2"));
/// assert_eq!(serde_json::to_value(&links).unwrap()["next"]["href"],
///            "/accounts/a1/transactions?transactionSequenceNumber=2");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
#[serde(transparent)]
#[cfg_attr(feature = "ts", tsify(hashmap_as_object))]
pub struct Links(pub BTreeMap<String, Href>);

impl Links {
    /// No links.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a link, builder style.
    pub fn with(mut self, name: impl Into<String>, href: impl Into<String>) -> Self {
        self.insert(name, href);
        self
    }

    /// Adds (or replaces) a link.
    pub fn insert(&mut self, name: impl Into<String>, href: impl Into<String>) {
        self.0.insert(name.into(), Href::new(href));
    }

    /// The target of the named link.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|h| h.href.as_str())
    }

    /// The `next` page link.
    pub fn next(&self) -> Option<&str> {
        self.get("next")
    }

    /// The `self` link.
    pub fn self_link(&self) -> Option<&str> {
        self.get("self")
    }

    /// `true` when there are no links.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
