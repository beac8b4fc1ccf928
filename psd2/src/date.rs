//! ISO 8601 calendar dates (`YYYY-MM-DD`) as the APIs use them in query parameters
//! (`dateFrom`, `dateTo`) and bodies (`requestedExecutionDate`, `bookingDate`).
//!
//! Date fields inside bank responses stay `String`s in this crate so an unexpected format
//! from the bank never breaks parsing; use [`IsoDate`] where a date must be valid.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a date was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Not of the form `YYYY-MM-DD` with ASCII digits.
    Format,
    /// The month or day does not exist (`2023-02-29`, `2024-13-01`).
    OutOfRange,
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateError::Format => "date is not of the form YYYY-MM-DD",
            DateError::OutOfRange => "date does not exist in the calendar",
        })
    }
}

impl std::error::Error for DateError {}

/// A valid Gregorian calendar date, written `YYYY-MM-DD` (years 0001–9999).
///
/// Ordering is chronological.
///
/// ```
/// use valv_psd2::IsoDate;
/// let d: IsoDate = "2024-02-29".parse().unwrap();
/// assert_eq!((d.year(), d.month(), d.day()), (2024, 2, 29));
/// assert!("2023-02-29".parse::<IsoDate>().is_err());
/// assert!("2024-2-1".parse::<IsoDate>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoDate {
    year: u16,
    month: u8,
    day: u8,
}

impl IsoDate {
    /// A date from its parts, if it exists.
    pub fn from_ymd(year: u16, month: u8, day: u8) -> Result<Self, DateError> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(DateError::OutOfRange);
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError::OutOfRange);
        }
        Ok(Self { year, month, day })
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Self, DateError> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(DateError::Format);
        }
        let num = |range: std::ops::Range<usize>| -> Result<u16, DateError> {
            b[range].iter().try_fold(
                0u16,
                |acc, &c| {
                    if c.is_ascii_digit() {
                        Ok(acc * 10 + u16::from(c - b'0'))
                    } else {
                        Err(DateError::Format)
                    }
                },
            )
        };
        let year = num(0..4)?;
        let month = u8::try_from(num(5..7)?).map_err(|_| DateError::OutOfRange)?;
        let day = u8::try_from(num(8..10)?).map_err(|_| DateError::OutOfRange)?;
        Self::from_ymd(year, month, day)
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.day
    }
}

/// `true` for leap years of the Gregorian calendar.
fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Checks that `s` is a valid `YYYY-MM-DD` date.
pub fn validate_iso_date(s: &str) -> Result<(), DateError> {
    IsoDate::parse(s).map(|_| ())
}

impl FromStr for IsoDate {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
