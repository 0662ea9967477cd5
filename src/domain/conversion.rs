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

    /// `amount` in `from`, converted to `to` at the rate of `date`.
    ///
    /// The direct rate and the inverted reverse rate are both candidates; the one quoted
    /// nearer the date wins, the direct one on a tie.
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
        let direct = self.latest(from, to, date);
        let reverse = self.latest(to, from, date);
        let exact = match (direct, reverse) {
            (Some((d, rate)), Some((r, _))) if d >= r => amount.to_decimal() * rate.to_decimal(),
            (Some((_, rate)), None) => amount.to_decimal() * rate.to_decimal(),
            (_, Some((_, rate))) => amount.to_decimal() / rate.to_decimal(),
            (None, None) => return Err(ConversionError::MissingRate { from, to, date }),
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
