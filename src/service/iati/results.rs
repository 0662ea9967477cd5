//! The plan's indicators as IATI `result` elements: one `result` per indicator, with its
//! `indicator` (measure, direction), baseline, and one `period` per fiscal year with a target
//! or an actual.
//!
//! An indicator of an activity goes on that activity. An indicator of an objective measures
//! every activity of the objective and of its sub-objectives; IATI has no element for an
//! objective, so the indicator goes on the first of those activities in byte order of their
//! codes, and its result's description names the objective and the activities it measures.
//! An indicator of an objective that has no activity at all (nor its sub-objectives) has no
//! activity to go on: it is left out and named in the summary.
//!
//! Indicators and their values are a few per activity and year: they are read before the file
//! is written, with the other small data.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use quick_xml::events::{BytesEnd, BytesStart, Event};
use sea_orm::DatabaseConnection;

use super::{Xml, iso, write_narrative};
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::iati;
use crate::entity::{activity, indicator, indicator_value, plan};
use crate::error::{Error, Result};
use crate::money::Quantity;
use crate::service::results::{measured_indicators, values};

/// One fiscal year of an indicator with a target, an actual, or both.
struct Period {
    fiscal_year: i32,
    target: Option<Quantity>,
    actual: Option<Quantity>,
}

/// An indicator as the export writes it.
struct Published {
    indicator: indicator::Model,
    /// For an indicator of an objective: what the result's description says.
    description: Option<String>,
    periods: Vec<Period>,
}

/// The results of a plan, by the id of the activity each goes on, in indicator code order.
pub(super) struct Results {
    by_activity: HashMap<i32, Vec<Published>>,
    /// Codes of the indicators of objectives without activities, which the file leaves out.
    pub(super) left_out: Vec<String>,
}

impl Results {
    /// Reads the indicators of `plan` and their values, and places each on its activity;
    /// `activities` are the plan's activities in byte order of their codes.
    pub(super) async fn load(
        db: &DatabaseConnection,
        plan: &plan::Model,
        activities: &[activity::Model],
        objectives: &HashMap<i32, (String, String)>,
    ) -> Result<Self> {
        let measured = measured_indicators(db, plan).await?;
        let mut values = values(db, measured.iter().map(|m| m.indicator.id)).await?;
        let code_of: HashMap<i32, &str> =
            activities.iter().map(|a| (a.id, a.code.as_str())).collect();
        let mut results = Results {
            by_activity: HashMap::new(),
            left_out: Vec::new(),
        };
        for m in measured {
            let mut codes: Vec<(&str, i32)> = m
                .activity_ids
                .iter()
                .filter_map(|id| code_of.get(id).map(|code| (*code, *id)))
                .collect();
            codes.sort_unstable();
            let Some(&(_, host)) = codes.first() else {
                results.left_out.push(m.indicator.code.clone());
                continue;
            };
            let description = m
                .indicator
                .objective_id
                .map(|id| describe_objective(id, objectives, &codes))
                .transpose()?;
            let periods = take_periods(&mut values, m.indicator.id);
            results
                .by_activity
                .entry(host)
                .or_default()
                .push(Published {
                    indicator: m.indicator,
                    description,
                    periods,
                });
        }
        Ok(results)
    }

    /// How many indicators go out.
    pub(super) fn count(&self) -> u64 {
        self.by_activity.values().map(|r| r.len() as u64).sum()
    }

    /// Writes the `result` elements of `activity`, which come last in an `iati-activity`
    /// but for elements naptrack does not write.
    pub(super) fn write<W: Write>(
        &self,
        xml: &mut Xml<W>,
        activity: &activity::Model,
        fiscal: FiscalYearStart,
    ) -> Result<()> {
        for result in self.by_activity.get(&activity.id).into_iter().flatten() {
            write_result(xml, result, fiscal)?;
        }
        Ok(())
    }
}

/// The values of `indicator_id` in fiscal year order, those with a target or an actual.
fn take_periods(
    values: &mut BTreeMap<(i32, i32), indicator_value::Model>,
    indicator_id: i32,
) -> Vec<Period> {
    let years: Vec<(i32, i32)> = values
        .range((indicator_id, i32::MIN)..=(indicator_id, i32::MAX))
        .map(|(key, _)| *key)
        .collect();
    years
        .into_iter()
        .filter_map(|key| values.remove(&key))
        .filter(|v| v.target.is_some() || v.actual.is_some())
        .map(|v| Period {
            fiscal_year: v.fiscal_year,
            target: v.target,
            actual: v.actual,
        })
        .collect()
}

/// What an objective's indicator measures, for the result's description: the objective and
/// the activities, the first of which (by code) carries it.
fn describe_objective(
    objective_id: i32,
    objectives: &HashMap<i32, (String, String)>,
    activities: &[(&str, i32)],
) -> Result<String> {
    let (code, title) = objectives
        .get(&objective_id)
        .ok_or_else(|| Error::Internal(format!("objective {objective_id} vanished")))?;
    let codes: Vec<&str> = activities.iter().map(|(code, _)| *code).collect();
    Ok(format!(
        "Result of objective {code}: {title}. It measures the activities of that objective \
         and of its sub-objectives ({}), and is published on the first of them by code.",
        codes.join(", ")
    ))
}

/// One `result` in the schema's order: title, description; its `indicator` with title,
/// description (the unit), baseline, periods.
fn write_result<W: Write>(
    xml: &mut Xml<W>,
    result: &Published,
    fiscal: FiscalYearStart,
) -> Result<()> {
    let indicator = &result.indicator;
    xml.write_event(Event::Start(BytesStart::new("result").with_attributes([(
        "type",
        iati::result_type_code(indicator.result_type),
    )])))?;
    write_narrative(xml, "title", &[], &indicator.title)?;
    if let Some(description) = &result.description {
        write_narrative(xml, "description", &[], description)?;
    }
    let ascending = if indicator.ascending { "1" } else { "0" };
    xml.write_event(Event::Start(BytesStart::new("indicator").with_attributes(
        [
            ("measure", iati::indicator_measure_code(indicator.measure)),
            ("ascending", ascending),
        ],
    )))?;
    write_narrative(xml, "title", &[], &indicator.title)?;
    if let Some(unit) = indicator.unit.as_deref().filter(|u| !u.trim().is_empty()) {
        write_narrative(
            xml,
            "description",
            &[],
            &format!("Indicator {}, counted in {unit}.", indicator.code),
        )?;
    }
    if let (Some(year), Some(value)) = (indicator.baseline_year, indicator.baseline_value) {
        // The baseline year is a fiscal year, which ends in the calendar year of its number:
        // the baseline stands at that year's last day.
        let (_, last) = bounds(fiscal, year)?;
        xml.create_element("baseline")
            .with_attribute(("year", year.to_string().as_str()))
            .with_attribute(("iso-date", iso(last).as_str()))
            .with_attribute(("value", value.to_string().as_str()))
            .write_empty()?;
    }
    for period in &result.periods {
        write_period(xml, period, fiscal)?;
    }
    xml.write_event(Event::End(BytesEnd::new("indicator")))?;
    xml.write_event(Event::End(BytesEnd::new("result")))?;
    Ok(())
}

/// A `period`: the fiscal year's first and last days, its target and its actual where given,
/// each value the quantity's exact text.
fn write_period<W: Write>(
    xml: &mut Xml<W>,
    period: &Period,
    fiscal: FiscalYearStart,
) -> Result<()> {
    let (first, last) = bounds(fiscal, period.fiscal_year)?;
    xml.create_element("period").write_inner_content(|xml| {
        xml.create_element("period-start")
            .with_attribute(("iso-date", iso(first).as_str()))
            .write_empty()?;
        xml.create_element("period-end")
            .with_attribute(("iso-date", iso(last).as_str()))
            .write_empty()?;
        for (element, value) in [("target", period.target), ("actual", period.actual)] {
            if let Some(value) = value {
                xml.create_element(element)
                    .with_attribute(("value", value.to_string().as_str()))
                    .write_empty()?;
            }
        }
        Ok::<(), std::io::Error>(())
    })?;
    Ok(())
}

fn bounds(fiscal: FiscalYearStart, year: i32) -> Result<(chrono::NaiveDate, chrono::NaiveDate)> {
    fiscal
        .bounds(year)
        .ok_or_else(|| Error::Internal(format!("fiscal year {year} out of range")))
}
