//! Calendar dates as users write them: exactly `YYYY-MM-DD` (four-digit year, two-digit month
//! and day) naming a real day of the calendar. One rule for every way a date comes in (CSV
//! cell, command-line option, query parameter, form field), so `2016-3-5` is refused
//! everywhere and `2016-02-30` too.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A day of the calendar read from `YYYY-MM-DD` text; displayed the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate(NaiveDate);

/// Why a text is not an [`IsoDate`]. The message quotes the text and tells a clerk what to
/// write instead; it is the importer's message for a date cell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not of the shape `YYYY-MM-DD` (`2016-3-5`, `31/03/2016`, `99999-02-01`).
    #[error("\"{0}\" is not a date; write YYYY-MM-DD, for example 2016-03-31")]
    Malformed(String),
    /// Of the right shape but no day of the calendar (`2016-02-30`, `2016-13-01`).
    #[error("\"{0}\" is not a date of the calendar")]
    NotInCalendar(String),
}

impl DateError {
    /// The message for a named parameter (`--as-of`, `as_of`): the name, then why.
    pub fn for_parameter(&self, name: &str) -> String {
        format!("{name} must be a date: {self}")
    }
}

impl IsoDate {
    /// Reads `text`, which must be exactly `YYYY-MM-DD` (no surrounding spaces) and a real day.
    pub fn parse(text: &str) -> Result<IsoDate, DateError> {
        let well_formed = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !well_formed {
            return Err(DateError::Malformed(text.to_owned()));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(IsoDate)
            .map_err(|_| DateError::NotInCalendar(text.to_owned()))
    }

    pub fn naive(self) -> NaiveDate {
        self.0
    }
}

impl From<NaiveDate> for IsoDate {
    fn from(date: NaiveDate) -> Self {
        IsoDate(date)
    }
}

impl From<IsoDate> for NaiveDate {
    fn from(date: IsoDate) -> Self {
        date.0
    }
}

impl FromStr for IsoDate {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        IsoDate::parse(text)
    }
}

impl fmt::Display for IsoDate {
    /// `YYYY-MM-DD`, for the years 0 to 9999 that [`IsoDate::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        IsoDate::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
    }

    #[test]
    fn a_date_of_four_two_and_two_digits_that_exists_is_accepted() {
        for (text, expected) in [
            ("2016-03-05", day(2016, 3, 5)),
            ("2016-02-29", day(2016, 2, 29)),
            ("2015-12-31", day(2015, 12, 31)),
            ("0001-01-01", day(1, 1, 1)),
            ("9999-12-31", day(9999, 12, 31)),
        ] {
            assert_eq!(
                IsoDate::parse(text).map(NaiveDate::from),
                Ok(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn a_date_not_written_yyyy_mm_dd_is_refused_with_the_importers_message() {
        for text in [
            "2016-3-5",
            "2016-03-5",
            "16-03-05",
            "99999-02-01",
            "2016/03/05",
            "05-03-2016",
            " 2016-03-05",
            "2016-03-05 ",
            "2016-03-05T00:00",
            "+2016-03-05",
            "２０１６-03-05",
            "",
        ] {
            assert_eq!(
                IsoDate::parse(text),
                Err(DateError::Malformed(text.to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(
            IsoDate::parse("2016-3-5").map_err(|e| e.to_string()),
            Err("\"2016-3-5\" is not a date; write YYYY-MM-DD, for example 2016-03-31".to_owned())
        );
    }

    #[test]
    fn a_well_formed_day_that_the_calendar_does_not_have_is_refused() {
        for text in [
            "2016-02-30",
            "2015-02-29",
            "2016-13-01",
            "2016-00-10",
            "2016-04-31",
        ] {
            assert_eq!(
                IsoDate::parse(text),
                Err(DateError::NotInCalendar(text.to_owned())),
                "{text}"
            );
        }
        assert_eq!(
            IsoDate::parse("2016-02-30").map_err(|e| e.to_string()),
            Err("\"2016-02-30\" is not a date of the calendar".to_owned())
        );
    }

    #[test]
    fn a_parameter_error_names_the_parameter() {
        let error = IsoDate::parse("2016-3-5")
            .err()
            .map(|e| e.for_parameter("--as-of"));
        assert_eq!(
            error.as_deref(),
            Some(
                "--as-of must be a date: \"2016-3-5\" is not a date; write YYYY-MM-DD, \
                 for example 2016-03-31"
            )
        );
    }

    #[test]
    fn a_date_displays_and_serializes_as_it_was_written() {
        let date = IsoDate::parse("2016-03-05").ok();
        assert_eq!(date.map(|d| d.to_string()).as_deref(), Some("2016-03-05"));
        assert_eq!(
            date.map(|d| serde_json::to_string(&d).ok()),
            Some(Some("\"2016-03-05\"".to_owned()))
        );
        assert_eq!(
            serde_json::from_str::<IsoDate>("\"2016-03-05\"").ok(),
            Some(IsoDate::from(day(2016, 3, 5)))
        );
        assert!(serde_json::from_str::<IsoDate>("\"2016-3-5\"").is_err());
        assert_eq!(IsoDate::from(day(2016, 3, 5)).naive(), day(2016, 3, 5));
    }
}
