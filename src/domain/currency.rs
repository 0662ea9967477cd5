//! ISO 4217 currency codes.
//!
//! Every amount that naptrack records (a budget line, a commitment, a
//! disbursement) is in a named currency, and a typing slip such as "EURO" or
//! "eur" would otherwise split one currency into several in the totals. The
//! [`Currency`] type therefore only ever holds a code from the active ISO 4217
//! list, so the rest of the program never has to check a currency again.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// Every active alphabetic code of ISO 4217 (list one, including the funds
/// codes and the X codes) with its minor unit: the number of decimal places
/// in which amounts in that currency are kept.
///
/// The table follows the list as published on 1 January 2026, with 178 codes.
/// Historic codes (list three) are left out on purpose, because a new entry in
/// a superseded currency is almost always a mistake: ANG gave way to XCG, BGN
/// to EUR, CUC to CUP, HRK to EUR, SLL to SLE and ZWL to ZWG.
///
/// Where ISO 4217 gives the minor unit as "N.A." (the precious metals, the
/// bond-market units, XDR, XSU, XUA, XTS and XXX), the table holds 0 and
/// marks the entry with a comment. The list has no number for them, and 0 is
/// the one value that never invents decimal places the standard does not
/// define.
///
/// The entries are kept in byte order of the code so that lookups can use a
/// binary search; a unit test guards that order.
static CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAD", 2),
    ("XAF", 0),
    ("XAG", 0), // N.A. in ISO 4217.
    ("XAU", 0), // N.A. in ISO 4217.
    ("XBA", 0), // N.A. in ISO 4217.
    ("XBB", 0), // N.A. in ISO 4217.
    ("XBC", 0), // N.A. in ISO 4217.
    ("XBD", 0), // N.A. in ISO 4217.
    ("XCD", 2),
    ("XCG", 2),
    ("XDR", 0), // N.A. in ISO 4217.
    ("XOF", 0),
    ("XPD", 0), // N.A. in ISO 4217.
    ("XPF", 0),
    ("XPT", 0), // N.A. in ISO 4217.
    ("XSU", 0), // N.A. in ISO 4217.
    ("XTS", 0), // N.A. in ISO 4217.
    ("XUA", 0), // N.A. in ISO 4217.
    ("XXX", 0), // N.A. in ISO 4217.
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// An active ISO 4217 currency, such as EUR or USD.
///
/// A value can only be made from a code in the active ISO 4217 list (by
/// [`str::parse`], [`TryFrom<&str>`] or deserialising), so holding a
/// `Currency` is proof that the code is valid. It is a reference into the
/// static table, which makes it cheap to copy and compare; values order
/// alphabetically by code.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct Currency(&'static str);

impl Currency {
    /// Every active ISO 4217 code, in byte order: the codes `parse` accepts.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        CURRENCIES.iter().map(|&(code, _)| code)
    }

    /// The three-letter code, such as `"EUR"`.
    pub fn code(&self) -> &str {
        self.0
    }

    /// The number of decimal places ISO 4217 gives this currency: 2 for EUR
    /// and USD, 0 for JPY, 3 for KWD, 4 for CLF.
    ///
    /// Codes whose minor unit ISO 4217 lists as "N.A." (XAU, XAG, XPD, XPT,
    /// XBA, XBB, XBC, XBD, XDR, XSU, XUA, XTS and XXX) return 0. That 0 means
    /// the standard defines no minor unit for them, not that they cannot be
    /// split; code that rounds amounts to this many places will round those
    /// amounts to whole units.
    pub fn minor_units(&self) -> u32 {
        // Every `Currency` was built from a table entry, so the search always
        // succeeds; the fallback of 0 only keeps the function free of panics.
        lookup(self.0).map_or(0, |&(_, units)| u32::from(units))
    }
}

/// Finds the table entry for a code, matching it exactly (case included).
fn lookup(code: &str) -> Option<&'static (&'static str, u8)> {
    CURRENCIES
        .binary_search_by(|&(entry, _)| entry.cmp(code))
        .ok()
        .and_then(|index| CURRENCIES.get(index))
}

impl fmt::Display for Currency {
    /// Writes the bare code, such as `EUR`, which is what clerks, reports
    /// and CSV files expect to see.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;

    /// Accepts exactly an active ISO 4217 code. Case matters: `"eur"` is
    /// refused rather than quietly corrected, so that what is stored is
    /// always what the clerk typed, and the error suggests `"EUR"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        lookup(s)
            .map(|&(code, _)| Currency(code))
            .ok_or_else(|| UnknownCurrency(s.to_owned()))
    }
}

impl TryFrom<&str> for Currency {
    type Error = UnknownCurrency;

    /// The same check as [`str::parse`], for code that prefers `try_from`.
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl Serialize for Currency {
    /// Writes the currency as its code string, such as `"EUR"`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    /// Reads a code string and refuses anything that is not an active ISO
    /// 4217 code, with the same message a clerk would see.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// The error for text that is not an active ISO 4217 currency code; it holds
/// the text as it was given.
///
/// Its message is written for the clerk who typed the text: it quotes the
/// input, says what a code looks like and, where the input is a known code in
/// the wrong case or with stray spaces, names the code that was probably
/// meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCurrency(pub String);

impl UnknownCurrency {
    /// The code the clerk most likely meant, when the input only differs from
    /// an active code by letter case or surrounding spaces.
    fn suggestion(&self) -> Option<&'static str> {
        let cleaned = self.0.trim().to_ascii_uppercase();
        lookup(&cleaned)
            .map(|&(code, _)| code)
            .filter(|&code| code != self.0)
    }
}

impl fmt::Display for UnknownCurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = &self.0;
        if let Some(code) = self.suggestion() {
            return write!(
                f,
                "{input:?} is not an ISO 4217 currency code; codes are three capital \
                 letters, so write {code:?}"
            );
        }
        // Three capital letters look like a code, so the clerk needs to hear
        // that this particular one is not (or is no longer) in use, rather
        // than how a code is shaped.
        if input.len() == 3 && input.bytes().all(|b| b.is_ascii_uppercase()) {
            return write!(
                f,
                "{input:?} is not a current ISO 4217 currency code (such as EUR or USD); \
                 check the code, as some older ones such as BGN or HRK are no longer in use"
            );
        }
        write!(
            f,
            "{input:?} is not an ISO 4217 currency code (three capital letters, such as \
             EUR or USD)"
        )
    }
}

impl std::error::Error for UnknownCurrency {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eur_and_usd_are_accepted() -> Result<(), UnknownCurrency> {
        let eur: Currency = "EUR".parse()?;
        let usd = Currency::try_from("USD")?;
        assert_eq!(eur.code(), "EUR");
        assert_eq!(usd.code(), "USD");
        assert_eq!(eur.to_string(), "EUR");
        assert!(eur < usd);
        Ok(())
    }

    #[test]
    fn a_lowercase_code_is_refused() {
        let refused = "eur".parse::<Currency>();
        assert_eq!(refused, Err(UnknownCurrency("eur".to_owned())));
        let message = refused.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(message.contains("\"eur\""), "{message}");
        assert!(message.contains("\"EUR\""), "{message}");
    }

    #[test]
    fn a_code_with_stray_spaces_is_refused_with_a_suggestion() {
        let message = UnknownCurrency(" USD ".to_owned()).to_string();
        assert!(message.contains("\"USD\""), "{message}");
        assert!(Currency::try_from(" USD ").is_err());
    }

    #[test]
    fn an_unknown_code_is_refused() {
        for text in ["EURO", "", "XYZ", "EU", "€", "BGN", "HRK", "ANG", "ZWL"] {
            assert_eq!(
                text.parse::<Currency>(),
                Err(UnknownCurrency(text.to_owned())),
                "{text:?} should be refused"
            );
        }
        assert_eq!(
            UnknownCurrency("EURO".to_owned()).to_string(),
            "\"EURO\" is not an ISO 4217 currency code (three capital letters, such as EUR or USD)"
        );
    }

    #[test]
    fn minor_units_follow_iso_4217() -> Result<(), UnknownCurrency> {
        for (code, units) in [
            ("EUR", 2),
            ("USD", 2),
            ("JPY", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("TND", 3),
            ("CLF", 4),
            ("UYW", 4),
            ("XAU", 0),
            ("XXX", 0),
        ] {
            assert_eq!(code.parse::<Currency>()?.minor_units(), units, "{code}");
        }
        Ok(())
    }

    #[test]
    fn the_table_is_sorted_and_has_no_duplicates() {
        for pair in CURRENCIES.windows(2) {
            if let [(first, _), (second, _)] = pair {
                assert!(first < second, "{first} must come before {second}");
            }
        }
        for &(code, units) in CURRENCIES {
            assert!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code:?} is not three capital letters"
            );
            assert!(units <= 4, "{code} has {units} minor units");
        }
        assert_eq!(CURRENCIES.len(), 178);
    }

    #[test]
    fn every_code_in_the_table_parses_to_itself() -> Result<(), UnknownCurrency> {
        for &(code, units) in CURRENCIES {
            let currency: Currency = code.parse()?;
            assert_eq!(currency.code(), code);
            assert_eq!(currency.minor_units(), u32::from(units));
        }
        Ok(())
    }

    #[test]
    fn serde_uses_the_bare_code() -> Result<(), serde_json::Error> {
        let eur = Currency::try_from("EUR").map_err(serde::de::Error::custom)?;
        assert_eq!(serde_json::to_string(&eur)?, "\"EUR\"");
        assert_eq!(serde_json::from_str::<Currency>("\"EUR\"")?, eur);
        let refused = serde_json::from_str::<Currency>("\"eur\"");
        let message = refused.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(message.contains("\"EUR\""), "{message}");
        Ok(())
    }
}
