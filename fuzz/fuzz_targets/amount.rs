//! Fuzzes the money grammar: `Amount::parse` and `Rate::parse` on any UTF-8 text.
//!
//! Neither may panic. Each outcome is compared with a reading of the contract's grammar written
//! here without the module's code (`-?[0-9]+(\.[0-9]+)?`, at most 14 integer and 4 fraction
//! digits for an amount, 8 and 10 for a rate, which must also be positive), and every accepted
//! value must print as canonical text that reads back as the same value, through `Display`,
//! `grouped()` and JSON alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use naptrack::money::{
    AMOUNT_MAX_INTEGER_DIGITS, AMOUNT_SCALE, Amount, MoneyError, RATE_MAX_INTEGER_DIGITS,
    RATE_SCALE, Rate,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_amount(text);
    check_rate(text);
    check_json_reading(text, Amount::parse(text).ok());
    check_json_reading(text, Rate::parse(text).ok());
});

/// What the grammar says a text is, worked out digit by digit.
#[derive(Debug, PartialEq, Eq)]
enum Reading {
    Empty,
    Malformed,
    TooManyFractionDigits,
    TooManyIntegerDigits,
    /// A number, as a count of 10^-scale units.
    Units(i128),
}

fn read(text: &str, scale: u32, max_integer_digits: usize) -> Reading {
    if text.is_empty() {
        return Reading::Empty;
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (integer, fraction) = match unsigned.find('.') {
        Some(dot) => (&unsigned[..dot], Some(&unsigned[dot + 1..])),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(integer) || fraction.is_some_and(|f| !digits(f)) {
        return Reading::Malformed;
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > scale as usize {
        return Reading::TooManyFractionDigits;
    }
    let significant = integer.trim_start_matches('0');
    if significant.len() > max_integer_digits {
        return Reading::TooManyIntegerDigits;
    }
    let padding = std::iter::repeat_n(b'0', scale as usize - fraction.len());
    let units = significant
        .bytes()
        .chain(fraction.bytes())
        .chain(padding)
        .fold(0_i128, |units, digit| units * 10 + i128::from(digit - b'0'));
    Reading::Units(if negative { -units } else { units })
}

/// Whether `error` is the refusal that `reading` calls for.
fn refusal_matches(reading: &Reading, error: &MoneyError) -> bool {
    matches!(
        (reading, error),
        (Reading::Empty, MoneyError::Empty)
            | (Reading::Malformed, MoneyError::Malformed(_))
            | (
                Reading::TooManyFractionDigits,
                MoneyError::TooManyFractionDigits { .. }
            )
            | (
                Reading::TooManyIntegerDigits,
                MoneyError::TooManyIntegerDigits { .. }
            )
    )
}

/// The integer and fraction digits of a canonical text, after checking that it has no sign
/// but a `-` before a non-zero value and no needless leading zero.
fn canonical_parts(canonical: &str, is_zero: bool) -> (&str, &str) {
    let unsigned = canonical.strip_prefix('-').unwrap_or(canonical);
    assert!(
        !(is_zero && unsigned.len() != canonical.len()),
        "zero printed with a sign: {canonical:?}"
    );
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    assert!(
        !integer.is_empty() && integer.bytes().all(|b| b.is_ascii_digit()),
        "{canonical:?}"
    );
    assert!(
        integer == "0" || !integer.starts_with('0'),
        "leading zero in {canonical:?}"
    );
    assert!(
        fraction.bytes().all(|b| b.is_ascii_digit()),
        "{canonical:?}"
    );
    (integer, fraction)
}

fn check_amount(text: &str) {
    let reading = read(text, AMOUNT_SCALE, AMOUNT_MAX_INTEGER_DIGITS);
    let parsed = Amount::parse(text);
    let amount = match (&reading, parsed) {
        (Reading::Units(units), Ok(amount)) => {
            assert_eq!(i128::from(amount.units()), *units, "{text:?}");
            amount
        }
        (_, Err(error)) if refusal_matches(&reading, &error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
        (_, result) => panic!("{text:?} reads as {reading:?}, but parse gave {result:?}"),
    };

    // The canonical text: at least two and at most four fraction digits, no trailing zero
    // past the second; it reads back as the same amount.
    let canonical = amount.to_string();
    let (integer, fraction) = canonical_parts(&canonical, amount.is_zero());
    assert!(
        (2..=AMOUNT_SCALE as usize).contains(&fraction.len()),
        "{canonical:?}"
    );
    assert!(
        fraction.len() == 2 || !fraction.ends_with('0'),
        "trailing zero in {canonical:?}"
    );
    assert!(integer.len() <= AMOUNT_MAX_INTEGER_DIGITS, "{canonical:?}");
    assert_eq!(Amount::parse(&canonical), Ok(amount), "{text:?}");
    assert_eq!(canonical.parse::<Amount>(), Ok(amount));
    assert_eq!(Amount::from_decimal(amount.to_decimal()), Some(amount));
    assert_eq!(amount.negated().negated(), amount);
    if amount.is_positive() {
        assert_eq!(
            Amount::parse(&format!("-{canonical}")),
            Ok(amount.negated())
        );
    }

    // Grouped for people: the same digits, in groups of three.
    let grouped = amount.grouped();
    assert_eq!(grouped.replace(',', ""), canonical, "{grouped:?}");
    let grouped_integer = grouped
        .trim_start_matches('-')
        .split_once('.')
        .map_or("", |(integer, _)| integer);
    for (i, group) in grouped_integer.split(',').enumerate() {
        let fits = if i == 0 {
            (1..=3).contains(&group.len())
        } else {
            group.len() == 3
        };
        assert!(fits, "{grouped:?}");
    }

    // JSON carries the canonical text as a string and reads it back.
    let json = serde_json::to_string(&amount).unwrap_or_default();
    assert_eq!(json, format!("\"{canonical}\""));
    assert_eq!(serde_json::from_str::<Amount>(&json).ok(), Some(amount));
}

/// A text sent as a JSON string, or as a JSON number when it is one, reads as it parses:
/// with `arbitrary_precision` a number is never rounded through `f64`.
fn check_json_reading<T>(text: &str, parsed: Option<T>)
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let as_string = serde_json::Value::String(text.to_owned());
    assert_eq!(
        serde_json::from_value::<T>(as_string).ok(),
        parsed,
        "{text:?}"
    );
    let is_number = matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Number(_))
    );
    if is_number && text.trim() == text {
        assert_eq!(serde_json::from_str::<T>(text).ok(), parsed, "{text:?}");
    }
}

fn check_rate(text: &str) {
    let reading = read(text, RATE_SCALE, RATE_MAX_INTEGER_DIGITS);
    let parsed = Rate::parse(text);
    let rate = match (&reading, parsed) {
        (Reading::Units(units), Ok(rate)) if *units > 0 => {
            assert_eq!(i128::from(rate.units()), *units, "{text:?}");
            rate
        }
        (Reading::Units(units), Err(MoneyError::RateNotPositive(_))) if *units <= 0 => return,
        (_, Err(error)) if refusal_matches(&reading, &error) => return,
        (_, result) => panic!("{text:?} reads as {reading:?}, but Rate::parse gave {result:?}"),
    };

    // The shortest exact text: no trailing zero, no bare point, at most ten fraction digits.
    let canonical = rate.to_string();
    let (integer, fraction) = canonical_parts(&canonical, false);
    assert!(!canonical.starts_with('-'), "{canonical:?}");
    assert!(!canonical.ends_with('.'), "{canonical:?}");
    assert!(!fraction.ends_with('0'), "trailing zero in {canonical:?}");
    assert!(fraction.len() <= RATE_SCALE as usize, "{canonical:?}");
    assert!(integer.len() <= RATE_MAX_INTEGER_DIGITS, "{canonical:?}");
    assert_eq!(Rate::parse(&canonical), Ok(rate), "{text:?}");
    assert_eq!(Rate::from_units(rate.units()), Some(rate));

    let json = serde_json::to_string(&rate).unwrap_or_default();
    assert_eq!(json, format!("\"{canonical}\""));
    assert_eq!(serde_json::from_str::<Rate>(&json).ok(), Some(rate));
}
