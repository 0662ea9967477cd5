//! The configurable thresholds (`[default.flags]` in Rocket.toml), one field per rule that
//! has any. Each rule's file defines what its thresholds mean, their defaults and their range.

use super::{institution_inactive, low_execution, obligation_undisbursed};

/// The thresholds of every rule; `Default` is the contract's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thresholds {
    pub low_execution: low_execution::Tolerance,
    pub obligation_undisbursed: obligation_undisbursed::After,
    pub institution_inactive: institution_inactive::After,
}

impl Thresholds {
    /// Refuses a threshold outside the range its rule makes sense in, naming the setting.
    pub fn check(&self) -> Result<(), String> {
        self.low_execution.check()?;
        self.obligation_undisbursed.check()?;
        self.institution_inactive.check()
    }
}
