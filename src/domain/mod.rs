//! Pure types and rules of the domain, with no I/O: currencies, dates, closed vocabularies,
//! fiscal years. Everything here is unit-tested on its own.

pub mod conversion;
pub mod currency;
pub mod date;
pub mod fiscal;
pub mod flags;
pub mod iati;
pub mod records;
pub mod results;
pub mod sector;
pub mod vocabulary;

pub use currency::Currency;
pub use date::IsoDate;
pub use vocabulary::{
    ActivityStatus, FundingSourceKind, InstitutionKind, Measure, ResultType, Role,
};
