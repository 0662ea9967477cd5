//! The exchange rates every conversion reads (flags, reports, donor statements).

use sea_orm::{ConnectionTrait, EntityTrait};

use crate::domain::conversion::RateTable;
use crate::entity::exchange_rate;
use crate::error::Result;

/// Every exchange rate, for conversions. The table holds a few rates a month per currency
/// pair, so it is read whole.
pub async fn rate_table<C: ConnectionTrait>(db: &C) -> Result<RateTable> {
    let rates = exchange_rate::Entity::find().all(db).await?;
    Ok(RateTable::new(
        rates
            .into_iter()
            .map(|r| (r.date, r.currency, r.quote_currency, r.rate)),
    ))
}
