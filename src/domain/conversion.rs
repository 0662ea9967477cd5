//! Currency conversion, the contract's way: an amount is converted at the latest rate on or
//! before its value date, then rounded half-to-even to the target currency's minor unit (ISO
//! 4217). Amounts already in the target currency are used as they are. A rate given the other
//! way round (one unit of the target is worth `rate` of the source) is inverted. A missing
//! rate is an error naming the currencies and the date; an amount is never taken as zero.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::Currency;
use crate::money::{Amount, MoneyError, Rate};

/// No rate on or before the value date, in either direction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    #[error(
        "no exchange rate from {from} to {to} on or before {date}; import one in exchange_rates.csv"
    )]
    MissingRate {
        from: Currency,
        to: Currency,
        date: NaiveDate,
    },
    #[error("converting {amount} {from} to {to}: {source}")]
    Money {
        amount: Amount,
        from: Currency,
        to: Currency,
        source: MoneyError,
    },
}

/// Every known rate, by currency pair, in date order.
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    rates: HashMap<(Currency, Currency), Vec<(NaiveDate, Rate)>>,
}

impl RateTable {
    pub fn new(rates: impl IntoIterator<Item = (NaiveDate, Currency, Currency, Rate)>) -> Self {
        let mut table = RateTable::default();
        for (date, currency, quote, rate) in rates {
            table
                .rates
                .entry((currency, quote))
                .or_default()
                .push((date, rate));
        }
        for series in table.rates.values_mut() {
            series.sort_by_key(|(date, _)| *date);
        }
        table
    }

    /// The latest rate of `from` in `to` on or before `date`, with its date.
    fn latest(&self, from: Currency, to: Currency, date: NaiveDate) -> Option<(NaiveDate, Rate)> {
        let series = self.rates.get(&(from, to))?;
        let after = series.partition_point(|(day, _)| *day <= date);
        after.checked_sub(1).map(|i| series[i])
    }

    /// How [`RateTable::convert`] turns `from` into `to` on `date`, if it can.
    ///
    /// The direct rate and the inverted reverse rate are both candidates; the one quoted
    /// nearer the date wins, the direct one on a tie.
    pub fn quote(&self, from: Currency, to: Currency, date: NaiveDate) -> Option<Quote> {
        let direct = self.latest(from, to, date);
        let reverse = self.latest(to, from, date);
        match (direct, reverse) {
            (Some((d, rate)), Some((r, _))) if d >= r => Some(Quote::Multiply(rate)),
            (Some((_, rate)), None) => Some(Quote::Multiply(rate)),
            (_, Some((_, rate))) => Some(Quote::Divide(rate)),
            (None, None) => None,
        }
    }

    /// The currencies with a direct rate into `to`.
    pub fn quoted_in(&self, to: Currency) -> Vec<Currency> {
        let mut found: Vec<Currency> = self
            .rates
            .keys()
            .filter(|(from, quote)| *quote == to && *from != to)
            .map(|(from, _)| *from)
            .collect();
        found.sort();
        found
    }

    /// `amount` in `from`, converted to `to` at the rate of `date`.
    pub fn convert(
        &self,
        amount: Amount,
        from: Currency,
        to: Currency,
        date: NaiveDate,
    ) -> Result<Amount, ConversionError> {
        if from == to {
            return Ok(amount);
        }
        let exact = match self.quote(from, to, date) {
            Some(Quote::Multiply(rate)) => amount.to_decimal() * rate.to_decimal(),
            Some(Quote::Divide(rate)) => amount.to_decimal() / rate.to_decimal(),
            None => return Err(ConversionError::MissingRate { from, to, date }),
        };
        Amount::from_decimal_rounded(exact, to.minor_units()).map_err(|source| {
            ConversionError::Money {
                amount,
                from,
                to,
                source,
            }
        })
    }
}

/// The rate a conversion uses: multiplied by (a direct rate) or divided by (the reverse one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Multiply(Rate),
    Divide(Rate),
}

/// The factors of an exact integer conversion at a direct rate: an amount of `units`
/// ten-thousandths is worth `units × multiplier / divisor` minor units of the target currency
/// before rounding. Reduced by their greatest common divisor, so that the product stays small.
pub fn integer_factors(rate: Rate, minor_units: u32) -> Option<(i64, i64)> {
    // units × 10^-4 × rate × 10^-10 = units × rate / 10^14 whole units, that is
    // units × rate / 10^(14 - minor) minor units.
    let divisor = 10_i64.checked_pow(14_u32.checked_sub(minor_units)?)?;
    let multiplier = rate.units();
    if multiplier <= 0 {
        return None;
    }
    let common = gcd(multiplier, divisor);
    Some((multiplier / common, divisor / common))
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn currency(code: &str) -> Currency {
        code.parse().unwrap()
    }

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    fn table() -> RateTable {
        let rate = |t: &str| Rate::parse(t).unwrap();
        RateTable::new([
            (
                date("2016-01-01"),
                currency("USD"),
                currency("EUR"),
                rate("0.9"),
            ),
            (
                date("2016-02-01"),
                currency("USD"),
                currency("EUR"),
                rate("0.8"),
            ),
            (
                date("2016-01-01"),
                currency("EUR"),
                currency("JPY"),
                rate("130.5"),
            ),
        ])
    }

    #[test]
    fn the_latest_rate_on_or_before_the_date_applies() {
        let t = table();
        let (usd, eur) = (currency("USD"), currency("EUR"));
        assert_eq!(
            t.convert(amount("100"), usd, eur, date("2016-01-31")),
            Ok(amount("90"))
        );
        assert_eq!(
            t.convert(amount("100"), usd, eur, date("2016-02-01")),
            Ok(amount("80"))
        );
        assert_eq!(
            t.convert(amount("100"), usd, eur, date("2017-06-01")),
            Ok(amount("80"))
        );
    }

    #[test]
    fn a_rate_is_inverted_for_the_other_direction() {
        let t = table();
        let converted = t.convert(
            amount("90"),
            currency("EUR"),
            currency("USD"),
            date("2016-01-15"),
        );
        assert_eq!(converted, Ok(amount("100")));
    }

    #[test]
    fn results_are_rounded_half_to_even_to_the_minor_unit() {
        let t = table();
        // 0.05 USD * 0.9 = 0.045 EUR, a tie, rounded to the even cent.
        assert_eq!(
            t.convert(
                amount("0.05"),
                currency("USD"),
                currency("EUR"),
                date("2016-01-02")
            ),
            Ok(amount("0.04"))
        );
        // Yen have no minor unit: 1.5 EUR * 130.5 = 195.75 JPY becomes 196.
        assert_eq!(
            t.convert(
                amount("1.5"),
                currency("EUR"),
                currency("JPY"),
                date("2016-01-02")
            ),
            Ok(amount("196"))
        );
    }

    #[test]
    fn integer_factors_are_reduced_and_give_the_decimal_conversion() {
        let rate = Rate::parse("0.8527").unwrap();
        assert_eq!(integer_factors(rate, 2), Some((8527, 1_000_000)));
        let rate = Rate::parse("130.5").unwrap();
        assert_eq!(integer_factors(rate, 0), Some((261, 20_000)));
        // 1.5 EUR (15,000 ten-thousandths) × 261 / 20,000 = 195.75 yen: 196, as converted above.
        assert_eq!((15_000 * 261) / 20_000, 195);
        assert_eq!((15_000 * 261) % 20_000, 15_000);
    }

    #[test]
    fn the_direct_rate_is_multiplied_the_reverse_one_divided() {
        let t = table();
        let (usd, eur) = (currency("USD"), currency("EUR"));
        assert_eq!(
            t.quote(usd, eur, date("2016-01-15")),
            Some(Quote::Multiply(Rate::parse("0.9").unwrap()))
        );
        assert_eq!(
            t.quote(eur, usd, date("2016-01-15")),
            Some(Quote::Divide(Rate::parse("0.9").unwrap()))
        );
        assert_eq!(t.quote(usd, eur, date("2015-12-31")), None);
        assert_eq!(t.quoted_in(eur), vec![usd]);
    }

    #[test]
    fn the_same_currency_is_used_as_it_is() {
        let t = RateTable::default();
        let eur = currency("EUR");
        assert_eq!(
            t.convert(amount("0.0001"), eur, eur, date("2016-01-01")),
            Ok(amount("0.0001"))
        );
    }

    #[test]
    fn a_missing_rate_is_an_error_naming_currency_and_date() {
        let t = table();
        let result = t.convert(
            amount("1"),
            currency("USD"),
            currency("EUR"),
            date("2015-12-31"),
        );
        let message = result.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(
            message.contains("USD") && message.contains("EUR") && message.contains("2015-12-31"),
            "{message}"
        );
    }
}
