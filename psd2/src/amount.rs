//! Exact money amounts: [`DecimalString`] (the decimal text, never a float) and
//! [`Amount`] (`{"amount": "40055.940", "currency": "SEK"}`).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::OtherMembers;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Map;

/// Longest decimal text accepted (sign, digits and point). Far above any real amount;
/// it only bounds the work done on hostile input.
pub const MAX_DECIMAL_LEN: usize = 64;

/// Why a decimal text or an amount was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    /// The text is empty.
    Empty,
    /// The text is longer than [`MAX_DECIMAL_LEN`].
    TooLong,
    /// The text is not `-?digits(.digits)?` (no exponent, no `+`, no spaces, no comma).
    Syntax,
    /// The currency is not three ASCII letters.
    Currency,
    /// The value has more fraction digits than the requested scale, or does not fit.
    Scale,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AmountError::Empty => "amount is empty",
            AmountError::TooLong => "amount is too long",
            AmountError::Syntax => "amount is not a decimal number like \"-63.0\" or \"40055.940\"",
            AmountError::Currency => "currency is not a three-letter ISO 4217 code",
            AmountError::Scale => "amount has more decimals than allowed or is out of range",
        })
    }
}

impl std::error::Error for AmountError {}

/// A decimal number kept as its exact text, e.g. `"40055.940"` or `"-63.0"`.
///
/// Parsing validates the syntax `-?[0-9]+(\.[0-9]+)?` and keeps the text byte for byte
/// (trailing zeros and scale included), so serialising gives back exactly what the bank
/// sent. It is never converted to `f64`.
///
/// SEB's Payment Initiation examples sometimes send the amount as a JSON *number*
/// (`"amount": 345.5`). Such a value is accepted: the text becomes the number's shortest
/// decimal form (`"345.5"`), and it is serialised back as the same JSON number, so a
/// document round-trips unchanged. [`DecimalString::was_json_number`] tells them apart;
/// values built with [`DecimalString::parse`] always serialise as strings. (A JSON number
/// may already have lost precision in any JSON parser; send strings.)
///
/// Equality and hashing compare the text only, so `"345.50"` and `"345.5"` differ: use
/// [`DecimalString::to_minor_units`] to compare values numerically.
#[derive(Clone)]
pub struct DecimalString {
    text: String,
    json_number: Option<serde_json::Number>,
}

impl DecimalString {
    /// Parses and validates decimal text, keeping it exactly.
    ///
    /// ```
    /// use valv_psd2::DecimalString;
    /// assert_eq!(DecimalString::parse("40055.940").unwrap().as_str(), "40055.940");
    /// assert!(DecimalString::parse("1e5").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        validate_decimal(text)?;
        Ok(Self { text: text.to_owned(), json_number: None })
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Consumes the value, returning its text.
    pub fn into_string(self) -> String {
        self.text
    }

    /// `true` when the value is below zero (`"-0.00"` is not negative).
    pub fn is_negative(&self) -> bool {
        self.text.starts_with('-') && !self.is_zero()
    }

    /// `true` when every digit is zero.
    pub fn is_zero(&self) -> bool {
        self.text.bytes().all(|b| matches!(b, b'0' | b'-' | b'.'))
    }

    /// Number of digits after the decimal point (`"40055.940"` → 3, `"12"` → 0).
    pub fn scale(&self) -> u32 {
        match self.text.split_once('.') {
            // The text is at most MAX_DECIMAL_LEN long, so this always fits.
            Some((_, frac)) => u32::try_from(frac.len()).unwrap_or(u32::MAX),
            None => 0,
        }
    }

    /// The value as an integer count of `10^-scale` units, e.g. `"-63.0"` at scale 2 is
    /// `-6300`. Fails with [`AmountError::Scale`] if the value has non-zero digits beyond
    /// `scale` or does not fit in `i128`.
    pub fn to_minor_units(&self, scale: u32) -> Result<i128, AmountError> {
        let (negative, digits) = match self.text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, self.text.as_str()),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let scale_usize = usize::try_from(scale).map_err(|_| AmountError::Scale)?;
        if frac_part.len() > scale_usize && frac_part[scale_usize..].bytes().any(|b| b != b'0') {
            return Err(AmountError::Scale);
        }
        let mut value: i128 = 0;
        let frac_digits = frac_part.bytes().chain(std::iter::repeat(b'0')).take(scale_usize);
        for b in int_part.bytes().chain(frac_digits) {
            value = value.checked_mul(10).and_then(|v| v.checked_add(i128::from(b - b'0'))).ok_or(AmountError::Scale)?;
        }
        Ok(if negative { -value } else { value })
    }

    /// Builds the text for `units * 10^-scale` with exactly `scale` decimals, e.g.
    /// `from_minor_units(-6300, 2)` is `"-63.00"`. Fails with [`AmountError::TooLong`]
    /// only if the text would exceed [`MAX_DECIMAL_LEN`] (a scale above ~20).
    ///
    /// ```
    /// use valv_psd2::DecimalString;
    /// let total = DecimalString::parse("40055.940").unwrap().to_minor_units(3).unwrap()
    ///     + DecimalString::parse("-63.0").unwrap().to_minor_units(3).unwrap();
    /// assert_eq!(DecimalString::from_minor_units(total, 3).unwrap().as_str(), "39992.940");
    /// ```
    pub fn from_minor_units(units: i128, scale: u32) -> Result<Self, AmountError> {
        let scale = usize::try_from(scale).map_err(|_| AmountError::TooLong)?;
        if scale >= MAX_DECIMAL_LEN {
            return Err(AmountError::TooLong);
        }
        let digits = units.unsigned_abs().to_string();
        let padded = if digits.len() <= scale { format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits) } else { digits };
        let (int_part, frac_part) = padded.split_at(padded.len() - scale);
        let sign = if units < 0 { "-" } else { "" };
        let text = if scale == 0 { format!("{sign}{int_part}") } else { format!("{sign}{int_part}.{frac_part}") };
        if text.len() > MAX_DECIMAL_LEN {
            return Err(AmountError::TooLong);
        }
        Ok(Self { text, json_number: None })
    }

    /// `true` if the value arrived as a JSON number rather than a string (and will be
    /// serialised back as that number).
    pub fn was_json_number(&self) -> bool {
        self.json_number.is_some()
    }

    /// The same value, serialised as a JSON string from now on.
    pub fn into_string_form(self) -> Self {
        Self { text: self.text, json_number: None }
    }
}

/// Checks `-?[0-9]+(\.[0-9]+)?` within [`MAX_DECIMAL_LEN`].
fn validate_decimal(text: &str) -> Result<(), AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.len() > MAX_DECIMAL_LEN {
        return Err(AmountError::TooLong);
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(AmountError::Syntax);
    }
    Ok(())
}

impl FromStr for DecimalString {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for DecimalString {
    type Error = AmountError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DecimalString {
    type Error = AmountError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        validate_decimal(&s)?;
        Ok(Self { text: s, json_number: None })
    }
}

impl AsRef<str> for DecimalString {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for DecimalString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for DecimalString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl PartialEq for DecimalString {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for DecimalString {}

impl Hash for DecimalString {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialEq<str> for DecimalString {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for DecimalString {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl Serialize for DecimalString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.json_number {
            Some(n) => n.serialize(s),
            None => s.serialize_str(&self.text),
        }
    }
}

impl<'de> Deserialize<'de> for DecimalString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }
}

struct DecimalVisitor;

impl DecimalVisitor {
    fn from_number<E: de::Error>(text: String, n: serde_json::Number) -> Result<DecimalString, E> {
        validate_decimal(&text).map_err(E::custom)?;
        Ok(DecimalString { text, json_number: Some(n) })
    }
}

impl Visitor<'_> for DecimalVisitor {
    type Value = DecimalString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal amount as a string such as \"40055.940\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        DecimalString::parse(v).map_err(E::custom)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        DecimalString::try_from(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::from_number(v.to_string(), v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::from_number(v.to_string(), v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Rust's `Display` for f64 is the shortest text that reads back to the same
        // value and never uses an exponent.
        let n = serde_json::Number::from_f64(v).ok_or_else(|| E::custom("amount is not finite"))?;
        Self::from_number(v.to_string(), n)
    }
}

/// A money amount as the APIs send it: `{"amount": "40055.940", "currency": "SEK"}`.
///
/// Unknown members (SEB templates carry `"equivalentAmount": ""`) are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(tsify::Tsify))]
pub struct Amount {
    /// The exact decimal value.
    pub amount: DecimalString,
    /// ISO 4217 currency code, e.g. `SEK`. Not validated when parsing bank data
    /// (SEB has sent `"xxx"` for closed accounts); [`Amount::parse`] validates it.
    pub currency: String,
    /// Members this crate does not model, kept for round-tripping.
    #[serde(flatten)]
    pub extra: OtherMembers,
}

impl Amount {
    /// An amount from an already validated value and a currency.
    pub fn new(amount: DecimalString, currency: impl Into<String>) -> Self {
        Self { amount, currency: currency.into(), extra: Map::new() }
    }

    /// Validates both parts: the decimal text and a three-letter upper-case currency.
    ///
    /// ```
    /// use valv_psd2::Amount;
    /// let a = Amount::parse("-63.0", "SEK").unwrap();
    /// assert!(a.is_negative());
    /// assert!(Amount::parse("12", "kronor").is_err());
    /// ```
    pub fn parse(amount: &str, currency: &str) -> Result<Self, AmountError> {
        if !is_currency_code(currency) {
            return Err(AmountError::Currency);
        }
        Ok(Self::new(DecimalString::parse(amount)?, currency))
    }

    /// `true` when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_negative()
    }
}

/// `true` for three upper-case ASCII letters (`SEK`, `EUR`).
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}
