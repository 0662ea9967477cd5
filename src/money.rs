//! Exact money: the [`Amount`] and [`Rate`] types.
//!
//! Public money must never lose a digit, so neither type ever passes through `f32`/`f64`.
//! Both are parsed from text with the contract's grammar (optional `-`, digits, optional `.`
//! and a bounded number of fraction digits, nothing else) and printed back exactly.
//!
//! Storage: an amount is stored as a `BIGINT` count of ten-thousandths (`1500.00` is
//! `15000000`), a rate as a `BIGINT` count of 10⁻¹⁰ units, on SQLite and PostgreSQL alike.
//! SeaORM's default `Decimal` column is `REAL` on SQLite, which silently rounds
//! 12345678901234.5678 to 12345678901234.57; an integer column is exact on both backends,
//! lets the database compute `SUM` exactly (SQLite raises "integer overflow" instead of
//! wrapping, and PostgreSQL sums `BIGINT` as `NUMERIC`), and compares and sorts numerically.
//! The largest amount the contract allows (14 integer and 4 fraction digits) needs 18
//! decimal digits, well inside the 19 of an `i64`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The number of fraction digits an amount may carry.
pub const AMOUNT_SCALE: u32 = 4;
/// The number of integer digits an amount read from a user may carry.
pub const AMOUNT_MAX_INTEGER_DIGITS: usize = 14;
/// The number of fraction digits an exchange rate may carry.
pub const RATE_SCALE: u32 = 10;
/// The number of integer digits a rate may carry, so that it fits an `i64` of 10⁻¹⁰ units.
pub const RATE_MAX_INTEGER_DIGITS: usize = 8;

/// Why a text is not an amount or a rate. Each message tells a clerk what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the amount is empty")]
    Empty,
    #[error(
        "\"{0}\" is not a plain decimal number: use digits with an optional \"-\" and \".\", no thousands separators, spaces or exponent (for example 1234.50)"
    )]
    Malformed(String),
    #[error("\"{text}\" has {digits} fraction digits; at most {max} are allowed")]
    TooManyFractionDigits {
        text: String,
        digits: usize,
        max: u32,
    },
    #[error("\"{text}\" has {digits} integer digits; at most {max} are allowed")]
    TooManyIntegerDigits {
        text: String,
        digits: usize,
        max: usize,
    },
    #[error("the result is too large to be represented exactly")]
    Overflow,
    #[error("an exchange rate must be greater than zero, not \"{0}\"")]
    RateNotPositive(String),
    #[error("{0} cannot be rounded to {1} fraction digits without overflow")]
    Rounding(String, u32),
}

/// A plain decimal read by the contract's grammar: `-?[0-9]+(\.[0-9]+)?`.
/// Returns the decimal and its count of significant integer digits.
fn parse_plain_decimal(
    text: &str,
    max_scale: u32,
    max_integer_digits: usize,
) -> Result<Decimal, MoneyError> {
    if text.is_empty() {
        return Err(MoneyError::Empty);
    }
    let malformed = || MoneyError::Malformed(text.to_owned());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(integer) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(malformed());
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > max_scale as usize {
        return Err(MoneyError::TooManyFractionDigits {
            text: text.to_owned(),
            digits: fraction.len(),
            max: max_scale,
        });
    }
    let significant = integer.trim_start_matches('0');
    if significant.len() > max_integer_digits {
        return Err(MoneyError::TooManyIntegerDigits {
            text: text.to_owned(),
            digits: significant.len(),
            max: max_integer_digits,
        });
    }
    // At most 14 + 4 digits: the mantissa fits an i128 and a Decimal without loss.
    let digits = format!("{significant}{fraction}");
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| malformed())?
    };
    let mantissa = if unsigned.len() == text.len() {
        mantissa
    } else {
        -mantissa
    };
    Decimal::try_from_i128_with_scale(mantissa, fraction.len() as u32).map_err(|_| malformed())
}

/// Prints `value` with at least `min_fraction_digits` fraction digits and no trailing zeros
/// beyond them, so that `1500` prints as `1500.00` and `0.0001` as `0.0001`.
fn format_decimal(value: Decimal, min_fraction_digits: u32) -> String {
    let mut value = value.normalize();
    if value.scale() < min_fraction_digits {
        value.rescale(min_fraction_digits);
    }
    value.to_string()
}

/// An exact amount of money with at most four fraction digits, in some currency held elsewhere.
///
/// Invariant: the value is a whole number of ten-thousandths that fits an `i64`. Parsing from
/// user text further limits it to 14 integer digits; sums may grow beyond that up to the `i64`
/// range and fail with [`MoneyError::Overflow`] past it, never wrap or round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// Reads an amount written the contract's way; anything else is an error, never rounded.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let decimal = parse_plain_decimal(text, AMOUNT_SCALE, AMOUNT_MAX_INTEGER_DIGITS)?;
        Self::from_decimal(decimal).ok_or(MoneyError::Overflow)
    }

    /// The stored form: a count of ten-thousandths.
    pub const fn units(self) -> i64 {
        self.0
    }

    pub const fn from_units(units: i64) -> Self {
        Amount(units)
    }

    /// The exact decimal value.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, AMOUNT_SCALE)
    }

    /// The amount equal to `value`, or `None` when it has more than four fraction digits or
    /// does not fit the storage range.
    pub fn from_decimal(value: Decimal) -> Option<Self> {
        let mut scaled = value.checked_mul(Decimal::from(10_000_i64))?;
        scaled = scaled.normalize();
        if scaled.scale() != 0 {
            return None;
        }
        scaled.to_i64().map(Amount)
    }

    /// `value` rounded half-to-even to `fraction_digits` (a currency's minor unit, at most four).
    pub fn from_decimal_rounded(value: Decimal, fraction_digits: u32) -> Result<Self, MoneyError> {
        let digits = fraction_digits.min(AMOUNT_SCALE);
        let rounded = value
            .round_dp_with_strategy(digits, rust_decimal::RoundingStrategy::MidpointNearestEven);
        Self::from_decimal(rounded).ok_or_else(|| MoneyError::Rounding(value.to_string(), digits))
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(MoneyError::Overflow)
    }

    /// Sums amounts exactly; an overflow is an error, not a wrong total.
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(amounts: I) -> Result<Amount, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, |total, amount| total.checked_add(amount))
    }

    /// The same amount with the opposite sign, as a reversal carries.
    pub fn negated(self) -> Amount {
        // -i64::MIN cannot occur for stored values: parsing bounds them to 18 digits.
        Amount(self.0.saturating_neg())
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The canonical text with thousands separators, for people: `1,234,567.50`. Every digit is
    /// kept; only the grouping is added.
    pub fn grouped(self) -> String {
        let text = self.to_string();
        let (sign, unsigned) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", text.as_str()),
        };
        let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let mut grouped = String::with_capacity(text.len() + integer.len() / 3);
        for (i, digit) in integer.chars().enumerate() {
            if i > 0 && (integer.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("{sign}{grouped}.{fraction}")
    }
}

impl fmt::Display for Amount {
    /// The canonical text: at least two fraction digits (`1500.00`), more only when needed
    /// (`0.0001`). Parsing it gives back the same amount.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format_decimal(self.to_decimal(), 2))
    }
}

impl FromStr for Amount {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

/// An exchange rate: one unit of a currency is worth `rate` units of the quote currency.
///
/// Invariant: greater than zero, at most ten fraction digits and eight integer digits, so it
/// is a whole number of 10⁻¹⁰ units that fits an `i64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(i64);

impl Rate {
    /// Reads a rate written the contract's way: a positive plain decimal with at most ten
    /// fraction digits.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let decimal = parse_plain_decimal(text, RATE_SCALE, RATE_MAX_INTEGER_DIGITS)?;
        if decimal <= Decimal::ZERO {
            return Err(MoneyError::RateNotPositive(text.to_owned()));
        }
        Self::from_decimal(decimal).ok_or(MoneyError::Overflow)
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    /// The rate stored as `units`; `None` for a stored value that breaks the invariant.
    pub fn from_units(units: i64) -> Option<Self> {
        (units > 0).then_some(Rate(units))
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, RATE_SCALE)
    }

    fn from_decimal(value: Decimal) -> Option<Self> {
        let scaled = value
            .checked_mul(Decimal::from(10_000_000_000_i64))?
            .normalize();
        if scaled.scale() != 0 || scaled <= Decimal::ZERO {
            return None;
        }
        scaled.to_i64().map(Rate)
    }
}

impl fmt::Display for Rate {
    /// The shortest exact text: `0.9012`, `1`, `0.0000000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format_decimal(self.to_decimal(), 0))
    }
}

impl FromStr for Rate {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rate::parse(s)
    }
}

/// An exact quantity that is not money: an indicator's baseline, target or actual (victims
/// identified, a percentage of cases). Read by the amounts' grammar (at most 14 integer and 4
/// fraction digits) and stored like them, as a count of ten-thousandths.
///
/// Invariant: a whole number of ten-thousandths within the amounts' range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);
    /// 100, the upper bound of a percentage.
    pub const HUNDRED: Quantity = Quantity(1_000_000);

    /// Reads a quantity written like an amount; anything else is an error, never rounded.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        Amount::parse(text).map(|amount| Quantity(amount.units()))
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    pub const fn from_units(units: i64) -> Self {
        Quantity(units)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, AMOUNT_SCALE)
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Whether the quantity lies between 0 and 100, as a percentage must.
    pub const fn is_percentage(self) -> bool {
        self.0 >= 0 && self.0 <= Self::HUNDRED.0
    }
}

impl fmt::Display for Quantity {
    /// The shortest exact text: `47`, `12.5`, `0.0001`. Parsing it gives back the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format_decimal(self.to_decimal(), 0))
    }
}

impl FromStr for Quantity {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// Both types travel in JSON as strings (`"1500.00"`), so no client reads them as floats.
macro_rules! serde_as_text {
    ($type:ty, $expecting:literal) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            /// Accepts a string or a JSON number. With serde_json's `arbitrary_precision` a
            /// number arrives as its original text, which is parsed by the same grammar and so
            /// never passes through `f64`; `1e3` is refused like any other malformed amount.
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                let text = match serde_json::Value::deserialize(deserializer)? {
                    serde_json::Value::String(text) => text,
                    serde_json::Value::Number(number) => number.to_string(),
                    other => {
                        return Err(D::Error::custom(format!(
                            concat!("expected ", $expecting, " as a string or number, found {}"),
                            other
                        )));
                    }
                };
                <$type>::parse(&text).map_err(D::Error::custom)
            }
        }
    };
}

serde_as_text!(Amount, "an amount");
serde_as_text!(Rate, "an exchange rate");
serde_as_text!(Quantity, "a value");

/// Storage of both types as `BIGINT` counts of their smallest unit (see the module comment).
macro_rules! stored_as_bigint {
    ($type:ident, $from_units:expr) => {
        impl From<$type> for sea_orm::Value {
            fn from(value: $type) -> Self {
                value.units().into()
            }
        }

        impl sea_orm::TryGetable for $type {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let units = <i64 as sea_orm::TryGetable>::try_get_by(res, idx)?;
                $from_units(units).ok_or_else(|| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                        "{} units out of range for {}",
                        units,
                        stringify!($type)
                    )))
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $type {
            fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let units = <i64 as sea_orm::sea_query::ValueType>::try_from(v)?;
                $from_units(units).ok_or(sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($type).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::BigInt
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::BigInteger
            }
        }

        impl sea_orm::sea_query::Nullable for $type {
            fn null() -> sea_orm::Value {
                <i64 as sea_orm::sea_query::Nullable>::null()
            }
        }

        impl sea_orm::IntoActiveValue<$type> for $type {
            fn into_active_value(self) -> sea_orm::ActiveValue<$type> {
                sea_orm::ActiveValue::Set(self)
            }
        }
    };
}

stored_as_bigint!(Amount, |units| Some(Amount::from_units(units)));
stored_as_bigint!(Rate, Rate::from_units);
stored_as_bigint!(Quantity, |units| Some(Quantity::from_units(units)));

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        Amount::parse(text)
            .map(|a| a.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn a_quantity_prints_its_shortest_exact_text() {
        let text = |t: &str| Quantity::parse(t).map(|q| q.to_string());
        assert_eq!(text("47.00"), Ok("47".to_owned()));
        assert_eq!(text("12.5"), Ok("12.5".to_owned()));
        assert_eq!(text("0.0001"), Ok("0.0001".to_owned()));
        assert_eq!(
            text("99999999999999.9999"),
            Ok("99999999999999.9999".to_owned())
        );
        assert!(text("1.00001").is_err());
        assert!(text("1e3").is_err());
    }

    #[test]
    fn a_percentage_lies_between_zero_and_a_hundred() {
        let is_percentage = |t: &str| Quantity::parse(t).map(Quantity::is_percentage);
        assert_eq!(is_percentage("0"), Ok(true));
        assert_eq!(is_percentage("100"), Ok(true));
        assert_eq!(is_percentage("100.0001"), Ok(false));
        assert_eq!(is_percentage("-0.0001"), Ok(false));
    }

    #[test]
    fn the_largest_amount_round_trips_exactly() {
        assert_eq!(round_trip("99999999999999.9999"), "99999999999999.9999");
        assert_eq!(round_trip("12345678901234.5678"), "12345678901234.5678");
        assert_eq!(round_trip("-99999999999999.9999"), "-99999999999999.9999");
    }

    #[test]
    fn the_smallest_amounts_round_trip_exactly() {
        assert_eq!(round_trip("0.0001"), "0.0001");
        assert_eq!(round_trip("-0.0001"), "-0.0001");
    }

    #[test]
    fn amounts_print_with_at_least_two_fraction_digits() {
        assert_eq!(round_trip("1500"), "1500.00");
        assert_eq!(round_trip("1500.5"), "1500.50");
        assert_eq!(round_trip("0"), "0.00");
        assert_eq!(round_trip("-0"), "0.00");
        assert_eq!(round_trip("0012.300"), "12.30");
    }

    #[test]
    fn a_tenth_plus_two_tenths_is_exactly_three_tenths() {
        let sum = Amount::parse("0.1")
            .and_then(|a| a.checked_add(Amount::parse("0.2")?))
            .map(|a| a.to_string());
        assert_eq!(sum, Ok("0.30".to_owned()));
    }

    #[test]
    fn a_sum_that_overflows_is_an_error_not_a_wrong_number() {
        let big = Amount::from_units(i64::MAX - 1);
        assert_eq!(
            big.checked_add(Amount::from_units(2)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Amount::checked_sum([big, Amount::from_units(1), Amount::from_units(1)]),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn bad_amounts_are_refused_with_a_message() {
        for (text, needle) in [
            ("1.00001", "5 fraction digits"),
            ("1e3", "not a plain decimal"),
            ("1,234.50", "not a plain decimal"),
            ("NaN", "not a plain decimal"),
            ("", "empty"),
            ("123456789012345", "15 integer digits"),
            ("+5", "not a plain decimal"),
            (" 5", "not a plain decimal"),
            ("5.", "not a plain decimal"),
            (".5", "not a plain decimal"),
            ("--5", "not a plain decimal"),
            ("Infinity", "not a plain decimal"),
            ("١٢٣", "not a plain decimal"),
        ] {
            let message = Amount::parse(text)
                .map(|a| a.to_string())
                .unwrap_or_else(|e| e.to_string());
            assert!(message.contains(needle), "{text:?} gave {message:?}");
        }
    }

    #[test]
    fn grouping_adds_separators_and_keeps_every_digit() {
        let grouped = |text: &str| Amount::parse(text).map(Amount::grouped).unwrap_or_default();
        assert_eq!(grouped("99999999999999.9999"), "99,999,999,999,999.9999");
        assert_eq!(grouped("-1234.5"), "-1,234.50");
        assert_eq!(grouped("123"), "123.00");
        assert_eq!(grouped("0.0001"), "0.0001");
    }

    #[test]
    fn leading_zeros_do_not_count_as_integer_digits() {
        assert_eq!(round_trip("0000099999999999999.25"), "99999999999999.25");
    }

    #[test]
    fn rounding_to_a_minor_unit_is_half_to_even() {
        let round = |text: &str, digits| {
            Amount::from_decimal_rounded(text.parse().unwrap_or_default(), digits)
                .map(|a| a.to_string())
        };
        assert_eq!(round("0.125", 2), Ok("0.12".to_owned()));
        assert_eq!(round("0.135", 2), Ok("0.14".to_owned()));
        assert_eq!(round("-0.125", 2), Ok("-0.12".to_owned()));
        assert_eq!(round("2.5", 0), Ok("2.00".to_owned()));
        assert_eq!(round("3.5", 0), Ok("4.00".to_owned()));
    }

    #[test]
    fn rates_take_ten_fraction_digits_and_no_more() {
        assert_eq!(
            Rate::parse("0.9012345678").map(|r| r.to_string()),
            Ok("0.9012345678".into())
        );
        assert_eq!(
            Rate::parse("1.0850").map(|r| r.to_string()),
            Ok("1.085".into())
        );
        assert!(Rate::parse("0.90123456789").is_err());
        assert!(Rate::parse("0").is_err());
        assert!(Rate::parse("-1.2").is_err());
        assert!(Rate::parse("123456789").is_err());
        assert_eq!(
            Rate::parse("12345678.0000000001").map(|r| r.to_string()),
            Ok("12345678.0000000001".into())
        );
    }

    #[test]
    fn json_numbers_are_read_from_their_text() {
        let parsed: Result<Amount, _> = serde_json::from_str("12345678901234.5678");
        assert_eq!(
            parsed.map(|a| a.to_string()).ok(),
            Some("12345678901234.5678".to_owned())
        );
        let parsed: Result<Amount, _> = serde_json::from_str("\"0.10\"");
        assert_eq!(parsed.ok(), Amount::parse("0.1").ok());
        assert!(serde_json::from_str::<Amount>("1e3").is_err());
        assert!(serde_json::from_str::<Amount>("true").is_err());
        assert_eq!(
            serde_json::to_string(&Amount::parse("1500").unwrap_or_default()).ok(),
            Some("\"1500.00\"".to_owned())
        );
    }
}
