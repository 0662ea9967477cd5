//! The arithmetic of results: how far an actual is from its target, what one unit of result
//! cost, and the three results rules' tests. Pure and exact: every figure is computed on the
//! integer counts of ten-thousandths and rounded half-to-even once, at the end, so no value
//! passes through a floating-point type or an inexact division.

use rust_decimal::Decimal;

use crate::money::{AMOUNT_SCALE, Amount, Quantity};

/// `numerator / denominator` rounded half-to-even to a whole number, exactly.
/// `None` when the denominator is zero or the result does not fit an `i128`.
fn divide_half_even(numerator: i128, denominator: i128) -> Option<i128> {
    if denominator == 0 {
        return None;
    }
    let (numerator, denominator) = if denominator < 0 {
        (numerator.checked_neg()?, denominator.checked_neg()?)
    } else {
        (numerator, denominator)
    };
    let quotient = numerator.div_euclid(denominator);
    let remainder = numerator.rem_euclid(denominator);
    // 0 <= remainder < denominator: compare twice the remainder with the denominator.
    let twice = remainder.checked_mul(2)?;
    let round_up = twice > denominator || (twice == denominator && quotient % 2 != 0);
    if round_up {
        quotient.checked_add(1)
    } else {
        Some(quotient)
    }
}

/// How much of its target an actual achieved, in percent with one decimal (100 = on target,
/// higher = better): actual ÷ target × 100 when higher is better, target ÷ actual × 100 when
/// lower is better, rounded half-to-even. `None` when the divisor is zero.
pub fn achievement(target: Quantity, actual: Quantity, ascending: bool) -> Option<Decimal> {
    let (numerator, denominator) = if ascending {
        (actual, target)
    } else {
        (target, actual)
    };
    // Percent with one decimal = ratio × 1000, as a whole number of tenths.
    let tenths = divide_half_even(
        i128::from(numerator.units()).checked_mul(1000)?,
        i128::from(denominator.units()),
    )?;
    Decimal::try_from_i128_with_scale(tenths, 1).ok()
}

/// What one unit of result cost: `disbursed ÷ actual`, rounded half-to-even to the currency's
/// `minor_units` fraction digits. `None` unless the actual is positive.
pub fn cost_per_unit(disbursed: Amount, actual: Quantity, minor_units: u32) -> Option<Amount> {
    if !actual.is_positive() {
        return None;
    }
    let digits = minor_units.min(AMOUNT_SCALE);
    // disbursed and actual are both in ten-thousandths, so their ratio is the money per unit;
    // scaled by 10^digits it is a whole number of the currency's minor units.
    let minor = divide_half_even(
        i128::from(disbursed.units()).checked_mul(10_i128.pow(digits))?,
        i128::from(actual.units()),
    )?;
    let units = minor.checked_mul(10_i128.pow(AMOUNT_SCALE - digits))?;
    i64::try_from(units).ok().map(Amount::from_units)
}

/// Whether `actual` misses `target` by more than `tolerance_percent` of the target: below
/// target × (1 − tolerance) when higher is better, above target × (1 + tolerance) when lower is
/// better. Missing it by exactly the tolerance is still on track.
pub fn is_off_track(
    target: Quantity,
    actual: Quantity,
    ascending: bool,
    tolerance_percent: Decimal,
) -> bool {
    let share = tolerance_percent / Decimal::ONE_HUNDRED;
    let factor = if ascending {
        Decimal::ONE - share
    } else {
        Decimal::ONE + share
    };
    // Exact: both operands have at most a few dozen significant digits.
    let Some(bound) = target.to_decimal().checked_mul(factor) else {
        return false;
    };
    let actual = actual.to_decimal();
    if ascending {
        actual < bound
    } else {
        actual > bound
    }
}

/// Whether a value moved the wrong way from `before` to `after`: down when higher is better,
/// up when lower is better. No change is not a wrong move.
pub fn moved_the_wrong_way(before: Quantity, after: Quantity, ascending: bool) -> bool {
    if ascending {
        after < before
    } else {
        after > before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_default()
    }

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap_or_default()
    }

    fn percent(text: &str) -> Option<Decimal> {
        text.parse().ok()
    }

    #[test]
    fn achievement_is_actual_over_target_when_higher_is_better() {
        assert_eq!(achievement(q("80"), q("47"), true), percent("58.8"));
        assert_eq!(achievement(q("60"), q("60"), true), percent("100.0"));
        assert_eq!(achievement(q("40"), q("50"), true), percent("125.0"));
    }

    #[test]
    fn achievement_is_target_over_actual_when_lower_is_better() {
        // 90 days to the first hearing aimed at, 120 reached: 75 % of the target.
        assert_eq!(achievement(q("90"), q("120"), false), percent("75.0"));
        assert_eq!(achievement(q("90"), q("60"), false), percent("150.0"));
    }

    #[test]
    fn achievement_rounds_half_to_even_on_the_exact_ratio() {
        // 1/8 = 12.5 % exactly: a tenth of a percent is 125 tenths, no rounding needed.
        assert_eq!(achievement(q("8"), q("1"), true), percent("12.5"));
        // 1/16 = 6.25 %: the midpoint goes to the even tenth, 6.2.
        assert_eq!(achievement(q("16"), q("1"), true), percent("6.2"));
        // 3/16 = 18.75 %: to the even tenth, 18.8.
        assert_eq!(achievement(q("16"), q("3"), true), percent("18.8"));
        // 2/3 = 66.666… %: 66.7.
        assert_eq!(achievement(q("3"), q("2"), true), percent("66.7"));
    }

    #[test]
    fn achievement_of_a_zero_divisor_is_absent() {
        assert_eq!(achievement(q("0"), q("5"), true), None);
        assert_eq!(achievement(q("5"), q("0"), false), None);
        assert_eq!(achievement(q("5"), q("0"), true), percent("0.0"));
    }

    #[test]
    fn cost_per_unit_is_rounded_half_to_even_to_the_minor_unit() {
        assert_eq!(
            cost_per_unit(amount("52000.00"), q("47"), 2),
            Some(amount("1106.38"))
        );
        // 0.125 per unit in EUR: the midpoint goes to the even cent.
        assert_eq!(
            cost_per_unit(amount("1.00"), q("8"), 2),
            Some(amount("0.12"))
        );
        assert_eq!(
            cost_per_unit(amount("3.00"), q("8"), 2),
            Some(amount("0.38"))
        );
        // A currency without minor units (JPY) rounds to whole units.
        assert_eq!(
            cost_per_unit(amount("1000"), q("3"), 0),
            Some(amount("333"))
        );
    }

    #[test]
    fn cost_per_unit_needs_a_positive_actual() {
        assert_eq!(cost_per_unit(amount("1000.00"), q("0"), 2), None);
        assert_eq!(cost_per_unit(amount("1000.00"), q("-2"), 2), None);
    }

    #[test]
    fn exactly_the_tolerance_short_is_on_track() {
        let tolerance = Decimal::from(25);
        assert!(!is_off_track(q("80"), q("60"), true, tolerance));
        assert!(is_off_track(q("80"), q("59.9999"), true, tolerance));
        assert!(!is_off_track(q("80"), q("100"), false, tolerance));
        assert!(is_off_track(q("80"), q("100.0001"), false, tolerance));
    }

    #[test]
    fn a_wrong_move_depends_on_the_better_direction() {
        assert!(moved_the_wrong_way(q("61"), q("47"), true));
        assert!(!moved_the_wrong_way(q("47"), q("61"), true));
        assert!(!moved_the_wrong_way(q("47"), q("47"), true));
        assert!(moved_the_wrong_way(q("90"), q("120"), false));
    }
}
