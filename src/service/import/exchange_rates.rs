//! Exchange rates: one unit of a currency in another on a date, for converting to the plan's
//! currency.

use chrono::NaiveDate;
use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::entity::exchange_rate;
use crate::error::Result;

#[derive(Default)]
pub struct ExchangeRates;

impl RecordImporter for ExchangeRates {
    type Record = Keyed<(NaiveDate, String, String), exchange_rate::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let date = cells.date("date");
        let currency = cells.currency("currency");
        let quote_currency = cells.currency("quote_currency");
        let rate = cells.rate("rate");
        if let (Some(date), Some(currency), Some(quote)) = (date, currency, quote_currency) {
            ctx.seen
                .check(cells, "date", format!("{date}\u{0}{currency}\u{0}{quote}"));
            if currency == quote {
                cells.error(
                    "quote_currency",
                    "a rate converts between two different currencies",
                );
            }
        }
        let (date, currency, quote_currency) = (date?, currency?, quote_currency?);
        Some(Keyed {
            key: (date, currency.to_string(), quote_currency.to_string()),
            model: exchange_rate::ActiveModel {
                date: Set(date),
                currency: Set(currency),
                quote_currency: Set(quote_currency),
                rate: Set(rate?),
                ..Default::default()
            },
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.exchange_rates.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog.exchange_rates.insert(record.key, model);
        Ok(())
    }
}
