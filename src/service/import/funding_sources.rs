//! Funding sources: the state budget, donor grants and loans that budget lines draw on.

use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::domain::FundingSourceKind;
use crate::entity::funding_source;
use crate::error::Result;

#[derive(Default)]
pub struct FundingSources;

impl RecordImporter for FundingSources {
    type Record = Keyed<String, funding_source::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let code = cells.code("code");
        let name = cells.text("name");
        let donor_code = cells.optional_code("donor_code");
        let kind = cells.word::<FundingSourceKind>("kind");
        let currency = cells.currency("currency");
        if let Some(code) = &code {
            ctx.seen.check(cells, "code", code.clone());
        }
        let donor_id = match &donor_code {
            Some(donor) => ctx.institution_id(cells, "donor_code", donor),
            None => None,
        };
        let code = code?;
        Some(Keyed {
            key: code.clone(),
            model: funding_source::ActiveModel {
                code: Set(code),
                name: Set(name?),
                donor_id: Set(donor_id),
                kind: Set(kind?),
                currency: Set(currency?),
                ..Default::default()
            },
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.funding_sources.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog.funding_sources.insert(record.key, model);
        Ok(())
    }
}
