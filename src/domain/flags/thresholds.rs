//! The configurable thresholds (`[default.flags]` in Rocket.toml), one field per rule that
//! has any. Each rule's file defines what its thresholds mean, their defaults and their range.

use super::{
    duplicate_payment, indicator_not_reported, indicator_off_track, institution_inactive,
    low_execution, obligation_undisbursed, split_payments, year_end_spike,
};

/// The thresholds of every rule; `Default` is the contract's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thresholds {
    pub low_execution: low_execution::Tolerance,
    pub obligation_undisbursed: obligation_undisbursed::After,
    pub institution_inactive: institution_inactive::After,
    pub indicator_not_reported: indicator_not_reported::Grace,
    pub indicator_off_track: indicator_off_track::Tolerance,
    pub duplicate_payment: duplicate_payment::Within,
    pub split_payments: split_payments::Limits,
    pub year_end_spike: year_end_spike::Share,
}

impl Thresholds {
    /// Refuses a threshold outside the range its rule makes sense in, naming the setting.
    pub fn check(&self) -> Result<(), String> {
        self.low_execution.check()?;
        self.obligation_undisbursed.check()?;
        self.institution_inactive.check()?;
        self.indicator_not_reported.check()?;
        self.indicator_off_track.check()?;
        self.duplicate_payment.check()?;
        self.split_payments.check()?;
        self.year_end_spike.check()
    }
}
