//! Institutions: the ministries, NGOs and donors that lead activities and give money.

use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::domain::{InstitutionKind, iati};
use crate::entity::institution;
use crate::error::Result;

#[derive(Default)]
pub struct Institutions;

impl RecordImporter for Institutions {
    type Record = Keyed<String, institution::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let code = cells.code("code");
        let name = cells.text("name");
        let kind = cells.word::<InstitutionKind>("kind");
        let iati_ref = cells.optional_code("iati_ref");
        if let Some(reference) = &iati_ref
            && !iati::is_organisation_identifier(reference)
        {
            cells.error(
                "iati_ref",
                format!(
                    "\"{reference}\" is not an IATI organisation identifier such as \
                     \"XM-DAC-41114\": it cannot contain spaces or / & | ?"
                ),
            );
        }
        if let Some(code) = &code {
            ctx.seen.check(cells, "code", code.clone());
        }
        let code = code?;
        if !cells.errors.is_empty() {
            return None;
        }
        Some(Keyed {
            key: code.clone(),
            model: institution::ActiveModel {
                code: Set(code),
                name: Set(name?),
                kind: Set(kind?),
                iati_ref: Set(iati_ref),
                ..Default::default()
            },
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.institutions.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog.institutions.insert(record.key, model);
        Ok(())
    }
}
