//! The benchmark's data: the contract's CSV files for one plan of 200 activities and 2,000
//! budget lines, with N disbursements, from a fixed seed.
//!
//! ```text
//! cargo run --release --example bench-data -- --disbursements 1000000 --out bench/data/1000000
//! ```
//!
//! A quarter of the budget lines are funded in US dollars and paid in dollars; the plan is
//! kept in euros, with a dollar rate for every day. One payment in two hundred is reversed.
//! Besides the CSV files the folder gets `expected.json`: the totals a report must show,
//! computed here with integer arithmetic, record by record, independently of naptrack.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PLAN: &str = "BENCH";
const FIRST_YEAR: i32 = 2020;
const YEARS: i32 = 10;
const ACTIVITIES: usize = 200;
const OBJECTIVES: usize = 10;
const LINES_PER_ACTIVITY: usize = 10;
const INSTITUTIONS: usize = 30;

struct Args {
    disbursements: u64,
    out: PathBuf,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        disbursements: 10_000,
        out: PathBuf::from("bench/data/10000"),
        seed: 2015,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--disbursements" => {
                args.disbursements = value.parse().map_err(|e| format!("{flag}: {e}"))?
            }
            "--out" => args.out = PathBuf::from(value),
            "--seed" => args.seed = value.parse().map_err(|e| format!("{flag}: {e}"))?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(args)
}

/// A funding source: its code, donor and currency.
struct Source {
    code: &'static str,
    donor: &'static str,
    currency: &'static str,
}

const SOURCES: [Source; 4] = [
    Source {
        code: "SB",
        donor: "",
        currency: "EUR",
    },
    Source {
        code: "EU-GRANT",
        donor: "DONOR-EU",
        currency: "EUR",
    },
    Source {
        code: "US-GRANT",
        donor: "DONOR-US",
        currency: "USD",
    },
    Source {
        code: "UN-GRANT",
        donor: "DONOR-UN",
        currency: "EUR",
    },
];

const CATEGORIES: [&str; 4] = [
    "wages",
    "goods_and_services",
    "subsidies_and_transfers",
    "capital",
];

struct Line {
    code: String,
    activity: usize,
    year: i32,
    usd: bool,
}

/// The dollar rate of every day, in ten-thousandths of a euro.
struct Rates {
    first: NaiveDate,
    by_day: Vec<i64>,
}

impl Rates {
    fn new(rng: &mut StdRng) -> Rates {
        let first = date(FIRST_YEAR, 1, 1);
        let last = date(FIRST_YEAR + YEARS, 1, 1);
        let days = (last - first).num_days();
        let mut rate: i64 = 9000;
        let by_day = (0..days)
            .map(|_| {
                rate = (rate + rng.random_range(-40..=40)).clamp(8000, 9800);
                rate
            })
            .collect();
        Rates { first, by_day }
    }

    fn on(&self, day: NaiveDate) -> i64 {
        let index = usize::try_from((day - self.first).num_days()).expect("a day of the plan");
        self.by_day[index]
    }
}

/// Dollar cents in euro cents at `rate` (ten-thousandths), rounded half to even.
fn to_euro_cents(cents: i64, rate: i64) -> i64 {
    let exact = i128::from(cents) * i128::from(rate);
    let (quotient, remainder) = (exact / 10_000, exact % 10_000);
    let twice = remainder.abs() * 2;
    let away = twice > 10_000 || (twice == 10_000 && quotient % 2 != 0);
    let rounded = if away {
        quotient + exact.signum()
    } else {
        quotient
    };
    i64::try_from(rounded).expect("a euro amount")
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a calendar date")
}

fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

fn create(dir: &Path, name: &str) -> std::io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(dir.join(name))?,
    ))
}

fn main() -> std::io::Result<()> {
    let args = parse_args().unwrap_or_else(|message| {
        eprintln!("bench-data: {message}");
        eprintln!("usage: bench-data [--disbursements N] [--out DIR] [--seed N]");
        std::process::exit(2);
    });
    std::fs::create_dir_all(&args.out)?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let dir = args.out.as_path();

    let mut out = create(dir, "institutions.csv")?;
    writeln!(out, "code,name,kind,iati_ref")?;
    for i in 0..INSTITUTIONS {
        let kind = if i < 12 { "government" } else { "ngo" };
        writeln!(out, "INST-{i:02},Institution {i:02},{kind},")?;
    }
    writeln!(out, "DONOR-EU,European donor,multilateral,XM-DAC-90001")?;
    writeln!(out, "DONOR-US,American donor,donor,XI-IATI-BENCH")?;
    writeln!(
        out,
        "DONOR-UN,United Nations donor,multilateral,XM-DAC-90002"
    )?;
    out.flush()?;

    let mut out = create(dir, "funding_sources.csv")?;
    writeln!(out, "code,name,donor_code,kind,currency")?;
    for s in &SOURCES {
        let kind = if s.donor.is_empty() {
            "state_budget"
        } else {
            "donor_grant"
        };
        writeln!(
            out,
            "{},Funding from {},{},{kind},{}",
            s.code, s.code, s.donor, s.currency
        )?;
    }
    out.flush()?;

    let mut out = create(dir, "plans.csv")?;
    writeln!(
        out,
        "code,title,country,currency,start_date,end_date,fiscal_year_start_month"
    )?;
    writeln!(
        out,
        "{PLAN},Benchmark action plan,XK,EUR,{FIRST_YEAR}-01-01,{}-12-31,1",
        FIRST_YEAR + YEARS - 1
    )?;
    out.flush()?;

    let mut out = create(dir, "objectives.csv")?;
    writeln!(out, "plan_code,code,title,parent_code")?;
    for o in 0..OBJECTIVES {
        writeln!(out, "{PLAN},OBJ-{o:02},Objective {o:02},")?;
    }
    out.flush()?;

    let mut out = create(dir, "activities.csv")?;
    writeln!(
        out,
        "plan_code,code,title,objective_code,lead_institution_code,start_date,end_date,status"
    )?;
    for a in 0..ACTIVITIES {
        writeln!(
            out,
            "{PLAN},ACT-{a:03},Activity {a:03},OBJ-{:02},INST-{:02},{FIRST_YEAR}-01-01,{}-12-31,ongoing",
            a % OBJECTIVES,
            a % INSTITUTIONS,
            FIRST_YEAR + YEARS - 1
        )?;
    }
    out.flush()?;

    let mut out = create(dir, "obligations.csv")?;
    writeln!(
        out,
        "plan_code,code,title,legal_basis,institution_code,activity_code,in_force_from,annual_minimum,currency"
    )?;
    writeln!(
        out,
        "{PLAN},FUND,Victim compensation fund,\"Law on trafficking, Article 27\",INST-00,ACT-000,{FIRST_YEAR}-01-01,250000.00,EUR"
    )?;
    out.flush()?;

    let rates = Rates::new(&mut rng);
    let mut out = create(dir, "exchange_rates.csv")?;
    writeln!(out, "date,currency,quote_currency,rate")?;
    for (i, rate) in rates.by_day.iter().enumerate() {
        let day = rates.first + Days::new(i as u64);
        writeln!(out, "{day},USD,EUR,{}.{:04}", rate / 10_000, rate % 10_000)?;
    }
    out.flush()?;

    // Ten lines an activity, one a fiscal year; a quarter of them funded in dollars.
    let mut lines = Vec::with_capacity(ACTIVITIES * LINES_PER_ACTIVITY);
    let mut allocated_cents: i64 = 0;
    let mut out = create(dir, "budget_lines.csv")?;
    writeln!(
        out,
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code"
    )?;
    for a in 0..ACTIVITIES {
        for y in 0..LINES_PER_ACTIVITY {
            let n = lines.len();
            let source = &SOURCES[n % SOURCES.len()];
            let year = FIRST_YEAR + i32::try_from(y).expect("a year");
            let cents: i64 = rng.random_range(1_000_000..=500_000_000);
            let usd = source.currency == "USD";
            allocated_cents += if usd {
                to_euro_cents(cents, rates.on(date(year, 1, 1)))
            } else {
                cents
            };
            let obligation = if a == 0 && source.code == "SB" {
                "FUND"
            } else {
                ""
            };
            let code = format!("BL-{n:04}");
            writeln!(
                out,
                "{PLAN},{code},ACT-{a:03},{},{year},{},{},{},{obligation}",
                source.code,
                CATEGORIES[n % CATEGORIES.len()],
                cents_text(cents),
                source.currency
            )?;
            lines.push(Line {
                code,
                activity: a,
                year,
                usd,
            });
        }
    }
    out.flush()?;

    let mut out = create(dir, "commitments.csv")?;
    writeln!(
        out,
        "plan_code,reference,funding_source_code,activity_code,date,due_date,amount,currency"
    )?;
    for (n, line) in lines.iter().enumerate().filter(|(n, _)| n % 5 == 0) {
        let source = &SOURCES[n % SOURCES.len()];
        writeln!(
            out,
            "{PLAN},C-{n:04},{},ACT-{:03},{}-01-15,{}-12-31,{},{}",
            source.code,
            line.activity,
            line.year,
            line.year,
            cents_text(rng.random_range(1_000_000..=400_000_000)),
            source.currency
        )?;
    }
    out.flush()?;

    // Payments: a random line, a day of its fiscal year, a payee, an amount in cents. One in
    // two hundred reverses a recent payment that has not been reversed yet.
    let mut disbursed_cents: i64 = 0;
    let mut recent: Vec<(u64, usize, NaiveDate, i64)> = Vec::new();
    let mut out = create(dir, "disbursements.csv")?;
    writeln!(
        out,
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses"
    )?;
    for r in 0..args.disbursements {
        let reversal = r % 200 == 199 && !recent.is_empty();
        let (line_index, day, cents, reverses) = if reversal {
            let (original, line_index, day, cents) =
                recent.swap_remove(rng.random_range(0..recent.len()));
            (line_index, day, -cents, Some(original))
        } else {
            let line_index = rng.random_range(0..lines.len());
            let year = lines[line_index].year;
            let day = date(year, 1, 1) + Days::new(rng.random_range(0..365));
            let cents = rng.random_range(100..=800_000);
            recent.push((r, line_index, day, cents));
            if recent.len() > 64 {
                recent.swap_remove(0);
            }
            (line_index, day, cents, None)
        };
        let line = &lines[line_index];
        let currency = if line.usd { "USD" } else { "EUR" };
        disbursed_cents += if line.usd {
            to_euro_cents(cents, rates.on(day))
        } else {
            cents
        };
        let payee = rng.random_range(0..INSTITUTIONS + 3);
        let payee = if payee < INSTITUTIONS {
            format!("INST-{payee:02}")
        } else {
            String::new()
        };
        let reverses = reverses.map_or(String::new(), |o| format!("D-{o:08}"));
        let description = if reversal {
            "Reversal of a duplicate payment"
        } else {
            [
                "Service contract instalment",
                "Shelter subsidy",
                "Training costs",
            ][r as usize % 3]
        };
        writeln!(
            out,
            "{PLAN},D-{r:08},{},{day},{},{currency},{payee},{description},{reverses}",
            line.code,
            cents_text(cents),
        )?;
    }
    out.flush()?;

    let mut out = create(dir, "expected.json")?;
    writeln!(
        out,
        "{{\"plan\": \"{PLAN}\", \"disbursements\": {}, \"seed\": {}, \"budget_lines\": {}, \"activities\": {ACTIVITIES}, \"allocated\": \"{}\", \"disbursed\": \"{}\", \"first_year\": {FIRST_YEAR}, \"last_day\": \"{}\"}}",
        args.disbursements,
        args.seed,
        lines.len(),
        cents_text(allocated_cents),
        cents_text(disbursed_cents),
        date(FIRST_YEAR + YEARS - 1, 12, 31).format("%Y-%m-%d"),
    )?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_become_euro_cents_rounded_half_to_even() {
        // 0.05 USD at 0.9000 is 0.045 EUR, a tie, rounded to the even cent; so is 0.135.
        assert_eq!(to_euro_cents(5, 9000), 4);
        assert_eq!(to_euro_cents(15, 9000), 14);
        assert_eq!(to_euro_cents(-5, 9000), -4);
        assert_eq!(to_euro_cents(100, 8527), 85);
    }
}
