//! The closed vocabularies of the contract: institution kinds, funding-source kinds, activity
//! statuses, indicators' result types and measures, and user roles. Each is stored as its contract word, and the database refuses any
//! other word with a CHECK constraint.

use std::fmt;
use std::str::FromStr;

/// A word that is not in a closed vocabulary. The message lists the words that are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{word}\" is not a valid {what}; use one of: {}", allowed.join(", "))]
pub struct UnknownWord {
    pub word: String,
    pub what: &'static str,
    pub allowed: &'static [&'static str],
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, sea_orm::DeriveValueType)]
        #[sea_orm(value_type = "String")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every word of the vocabulary, in the contract's order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(word: &str) -> Result<Self, Self::Err> {
                match word {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord { word: word.to_owned(), what: $what, allowed: Self::WORDS }),
                }
            }
        }
    };
}

vocabulary!(
    /// What kind of body an institution is.
    InstitutionKind, "institution kind" {
        Government => "government",
        Ngo => "ngo",
        Donor => "donor",
        Multilateral => "multilateral",
        Private => "private",
        Other => "other",
    }
);

vocabulary!(
    /// Where the money of a funding source comes from.
    FundingSourceKind, "funding-source kind" {
        StateBudget => "state_budget",
        DonorGrant => "donor_grant",
        Loan => "loan",
        Other => "other",
    }
);

vocabulary!(
    /// Where an activity stands.
    ActivityStatus, "activity status" {
        Planned => "planned",
        Ongoing => "ongoing",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// What level of result an indicator measures (IATI's ResultType: 1, 2, 3).
    ResultType, "result type" {
        Output => "output",
        Outcome => "outcome",
        Impact => "impact",
    }
);

vocabulary!(
    /// How an indicator's values are expressed (IATI's IndicatorMeasure: 1, 2).
    Measure, "measure" {
        Unit => "unit",
        Percentage => "percentage",
    }
);

vocabulary!(
    /// What a user may do (see the contract's table of roles).
    Role, "role" {
        Admin => "admin",
        Recorder => "recorder",
        Donor => "donor",
        Auditor => "auditor",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_back_to_itself() {
        for status in ActivityStatus::ALL {
            assert_eq!(status.as_str().parse::<ActivityStatus>(), Ok(*status));
        }
        for kind in InstitutionKind::ALL {
            assert_eq!(kind.to_string().parse::<InstitutionKind>(), Ok(*kind));
        }
    }

    #[test]
    fn an_unknown_word_is_refused_with_the_allowed_words() {
        let message = "Ongoing"
            .parse::<ActivityStatus>()
            .map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("\"Ongoing\" is not a valid activity status; use one of: planned, ongoing, completed, cancelled".to_owned())
        );
    }
}
