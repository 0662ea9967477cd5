//! The IATI 2.03 vocabulary naptrack writes: which IATI code each of the app's words maps to.
//! The XML itself is written by [`crate::service::iati`]; the mapping lives here, on its
//! own, so that it can be read and tested as the table the README shows.
//!
//! Codes come from the IATI code lists of version 2.03: ActivityStatus, ActivityDateType,
//! OrganisationRole, OrganisationType, TransactionType, BudgetType, BudgetStatus, ResultType and
//! IndicatorMeasure.

use std::borrow::Cow;

use crate::domain::{ActivityStatus, FundingSourceKind, InstitutionKind, Measure, ResultType};

/// The version of the standard written in `iati-activities/@version`.
pub const VERSION: &str = "2.03";

/// ActivityDateType 1: planned start.
pub const DATE_PLANNED_START: &str = "1";
/// ActivityDateType 3: planned end.
pub const DATE_PLANNED_END: &str = "3";

/// OrganisationRole 1: funding; the organisation provides the money.
pub const ROLE_FUNDING: &str = "1";
/// OrganisationRole 4: implementing; the organisation carries the activity out.
pub const ROLE_IMPLEMENTING: &str = "4";

/// TransactionType 2: outgoing commitment.
pub const TRANSACTION_COMMITMENT: &str = "2";
/// TransactionType 3: disbursement (a reversal is a disbursement with a negative value).
pub const TRANSACTION_DISBURSEMENT: &str = "3";

/// BudgetType 1: original. naptrack keeps one amount per budget line, never a revision.
pub const BUDGET_ORIGINAL: &str = "1";
/// BudgetStatus 2: committed. A budget line is an allocation in an adopted budget.
pub const BUDGET_COMMITTED: &str = "2";

/// SectorVocabulary 1: OECD DAC 5-digit purpose codes, the codes of `domain::sector`.
pub const SECTOR_VOCABULARY_DAC: &str = "1";

/// DescriptionType 1: general.
pub const DESCRIPTION_GENERAL: &str = "1";

/// The ActivityStatus code of an activity's status.
///
/// A completed activity is Finalisation (3), not Closed (4): naptrack keeps accepting
/// reversals on its budget lines, so its finances are not known to be closed.
pub fn activity_status_code(status: ActivityStatus) -> &'static str {
    match status {
        ActivityStatus::Planned => "1",
        ActivityStatus::Ongoing => "2",
        ActivityStatus::Completed => "3",
        ActivityStatus::Cancelled => "5",
    }
}

/// The ResultType code of an indicator's result type: output 1, outcome 2, impact 3.
pub fn result_type_code(result_type: ResultType) -> &'static str {
    match result_type {
        ResultType::Output => "1",
        ResultType::Outcome => "2",
        ResultType::Impact => "3",
    }
}

/// The IndicatorMeasure code of an indicator's measure: unit 1, percentage 2. Both are
/// quantitative, so IATI's rules 8.8.1, 8.9.1 and 8.10.1 want a `value` on every baseline,
/// target and actual, which the export always writes.
pub fn indicator_measure_code(measure: Measure) -> &'static str {
    match measure {
        Measure::Unit => "1",
        Measure::Percentage => "2",
    }
}

/// The OrganisationType code of an institution kind, where one says what the body is.
///
/// `donor` says what an institution does in the plan, not what it is (a foreign ministry, a
/// foundation, a bank), and `other` says nothing, so neither has a type: the attribute is
/// optional and a wrong type would mislead. NGOs in a national plan are national NGOs.
pub fn organisation_type_code(kind: InstitutionKind) -> Option<&'static str> {
    match kind {
        InstitutionKind::Government => Some("10"),
        InstitutionKind::Ngo => Some("22"),
        InstitutionKind::Multilateral => Some("40"),
        InstitutionKind::Private => Some("70"),
        InstitutionKind::Donor | InstitutionKind::Other => None,
    }
}

/// The OrganisationType code of a funding source without a donor institution: the state
/// budget is the government's money; of the other kinds nothing is known.
pub fn funding_source_type_code(kind: FundingSourceKind) -> Option<&'static str> {
    match kind {
        FundingSourceKind::StateBudget => Some("10"),
        FundingSourceKind::DonorGrant | FundingSourceKind::Loan | FundingSourceKind::Other => None,
    }
}

/// The activity identifier: the reporting organisation's reference, the plan's code and the
/// activity's code, joined by hyphens as IATI asks (prefix, hyphen, own identifier). Codes are
/// unique per plan and plans per database, so identifiers are unique per publisher.
pub fn activity_identifier(
    reporting_org_ref: &str,
    plan_code: &str,
    activity_code: &str,
) -> String {
    format!("{reporting_org_ref}-{plan_code}-{activity_code}")
}

/// Whether `reference` can be an IATI organisation identifier (such as "XM-DAC-41114"): not
/// empty, without spaces, and without `/ & | ?`, which cannot stand in an identifier that the
/// IATI registry looks up in a URL. Both the publisher's reference and an institution's
/// `iati_ref` are held to it.
pub fn is_organisation_identifier(reference: &str) -> bool {
    !reference.is_empty()
        && !reference
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '&' | '|' | '?'))
}

/// `text` with every character that XML 1.0 does not allow in a document (control characters
/// other than tab, line feed and carriage return; U+FFFE and U+FFFF) replaced by U+FFFD, so
/// that a stray byte in an imported description cannot make the whole file unreadable.
/// Escaping of `<`, `&` and quotes is the XML writer's job.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(
            text.chars()
                .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisation_identifier_has_no_spaces_and_none_of_the_url_characters() {
        for good in ["XM-DAC-41114", "GB-COH-123456", "NP-SWC-1234"] {
            assert!(is_organisation_identifier(good), "{good}");
        }
        for bad in ["", "XM DAC", "GB/COH", "A&B", "A|B", "A?B", "XM\tDAC"] {
            assert!(!is_organisation_identifier(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_activity_status_maps_to_a_code_of_the_activity_status_list() {
        let codes: Vec<&str> = ActivityStatus::ALL
            .iter()
            .map(|s| activity_status_code(*s))
            .collect();
        assert_eq!(codes, ["1", "2", "3", "5"]);
    }

    #[test]
    fn result_types_and_measures_map_to_their_codelists() {
        let types: Vec<&str> = ResultType::ALL
            .iter()
            .map(|t| result_type_code(*t))
            .collect();
        assert_eq!(types, ["1", "2", "3"]);
        let measures: Vec<&str> = Measure::ALL
            .iter()
            .map(|m| indicator_measure_code(*m))
            .collect();
        assert_eq!(measures, ["1", "2"]);
    }

    #[test]
    fn only_kinds_that_say_what_a_body_is_get_an_organisation_type() {
        assert_eq!(
            organisation_type_code(InstitutionKind::Government),
            Some("10")
        );
        assert_eq!(
            organisation_type_code(InstitutionKind::Multilateral),
            Some("40")
        );
        assert_eq!(organisation_type_code(InstitutionKind::Donor), None);
        assert_eq!(organisation_type_code(InstitutionKind::Other), None);
        assert_eq!(
            funding_source_type_code(FundingSourceKind::StateBudget),
            Some("10")
        );
        assert_eq!(funding_source_type_code(FundingSourceKind::Loan), None);
    }

    #[test]
    fn the_identifier_joins_organisation_plan_and_activity_with_hyphens() {
        assert_eq!(
            activity_identifier("XM-DAC-41114", "NAP-2015", "PREV-01"),
            "XM-DAC-41114-NAP-2015-PREV-01"
        );
    }

    #[test]
    fn characters_xml_forbids_are_replaced_and_the_rest_kept() {
        assert!(matches!(xml_safe("Shelter <A> & co\n"), Cow::Borrowed(_)));
        assert_eq!(xml_safe("bad\u{1}byte\u{FFFF}"), "bad\u{FFFD}byte\u{FFFD}");
        assert_eq!(xml_safe("tab\there"), "tab\there");
    }
}
