//! Charts as SVG, drawn on the server with plotters' SVG backend into a string and embedded
//! in the page, so they need no JavaScript and no request of their own.
//!
//! Floating point is used here only for geometry: where a bar ends and what a tick says. The
//! amounts themselves are always shown exactly in the table beside each chart.
#![allow(clippy::float_arithmetic)]

use plotters::chart::MeshStyle;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use crate::error::Error;
use crate::money::{Amount, Quantity};

const ALLOCATED: RGBColor = RGBColor(0x9e, 0xc5, 0xe8);
const DISBURSED: RGBColor = RGBColor(0x0b, 0x4f, 0x8a);
const INK: RGBColor = RGBColor(0x1b, 0x1f, 0x24);
const TARGET: RGBColor = RGBColor(0x6b, 0x6f, 0x76);
const ACTUAL: RGBColor = RGBColor(0xb3, 0x26, 0x1e);

fn to_f64(amount: Amount) -> f64 {
    amount.to_decimal().to_f64().unwrap_or(0.0)
}

/// A tick label: the value rounded to a whole number, with thousands separators.
fn tick(value: f64) -> String {
    let rounded = value.round();
    let negative = rounded < 0.0;
    let digits = format!("{:.0}", rounded.abs());
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if negative {
        format!("-{grouped}")
    } else {
        grouped
    }
}

fn chart_error<E: std::fmt::Display>(e: E) -> Error {
    Error::Internal(format!("chart: {e}"))
}

/// Makes the SVG an accessible image named by its title, and lets it shrink with the page.
fn finish(svg: String, title: &str) -> String {
    let escaped = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{escaped}\" class=\"chart\" "),
        1,
    )
}

/// [`tick`] in the shape plotters asks of a label formatter.
fn tick_label(value: &f64) -> String {
    tick(*value)
}

/// The axis text of every chart: whole, grouped ticks on the value axis, one font for labels
/// and one for the axis descriptions.
fn axis_text<'m, 'a, 'b, X: Ranged, Y: Ranged<ValueType = f64>, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.y_label_formatter(&tick_label)
        .label_style(("sans-serif", 13).into_font().color(&INK))
        .axis_desc_style(("sans-serif", 14).into_font().color(&INK))
}

/// The label under segment `value` of a bar chart: the label of its group, none between.
fn segment_label(value: &SegmentValue<i32>, labels: &[String]) -> String {
    match value {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| labels.get(i))
            .map_or_else(String::new, Clone::clone),
        _ => String::new(),
    }
}

/// The legend entry of a series of bars in `color`.
fn bar_legend(color: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
}

/// Draws the legend of `chart` at `position`, in the charts' one style.
fn draw_legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Result<(), Error> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(INK)
        .label_font(("sans-serif", 13).into_font().color(&INK))
        .draw()
        .map_err(chart_error)
}

/// The y range for values, with zero always in view and room above the largest for the
/// legend, which would otherwise hide the top of the tallest bars.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let high = if high <= 0.0 { 1.0 } else { high * 1.25 };
    let low = if low < 0.0 { low * 1.1 } else { 0.0 };
    (low, high)
}

/// One bar group of [`allocated_vs_disbursed`]: a short label under the bars and the two
/// amounts.
pub struct BarGroup {
    pub label: String,
    pub allocated: Amount,
    pub disbursed: Amount,
}

/// Allocated (a wide light bar) and disbursed (a narrow dark bar inside it) per group, so
/// that how much of each allocation was paid out can be read at a glance.
pub fn allocated_vs_disbursed(
    title: &str,
    currency: &str,
    groups: &[BarGroup],
) -> Result<String, Error> {
    let n = groups.len().max(1);
    let width = u32::try_from(n * 64 + 160).unwrap_or(u32::MAX).max(720);
    let (low, high) = y_range(
        groups
            .iter()
            .flat_map(|g| [to_f64(g.allocated), to_f64(g.disbursed)]),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        // A range of integers is inclusive in plotters: 0..last has a segment for each group.
        let last = i32::try_from(n).unwrap_or(i32::MAX) - 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20).into_font().color(&INK))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(110)
            .build_cartesian_2d((0..last).into_segmented(), low..high)
            .map_err(chart_error)?;
        let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
        axis_text(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|value| segment_label(value, &labels))
                .x_desc("")
                .y_desc(format!("Amount ({currency})")),
        )
        .draw()
        .map_err(chart_error)?;
        let indexed = |pick: fn(&BarGroup) -> Amount| {
            groups
                .iter()
                .enumerate()
                .map(move |(i, g)| (i32::try_from(i).unwrap_or(0), to_f64(pick(g))))
        };
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(ALLOCATED.filled())
                    .margin(8)
                    .baseline(0.0)
                    .data(indexed(|g| g.allocated)),
            )
            .map_err(chart_error)?
            .label(format!("Allocated ({currency})"))
            .legend(bar_legend(ALLOCATED));
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(DISBURSED.filled())
                    .margin(22)
                    .baseline(0.0)
                    .data(indexed(|g| g.disbursed)),
            )
            .map_err(chart_error)?
            .label(format!("Disbursed ({currency})"))
            .legend(bar_legend(DISBURSED));
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(chart_error)?;
    }
    Ok(finish(svg, title))
}

/// Disbursed per month as a line with a point per month.
pub fn disbursed_over_time(
    title: &str,
    currency: &str,
    months: &[(String, Amount)],
) -> Result<String, Error> {
    let n = months.len().max(1);
    let (low, high) = y_range(months.iter().map(|(_, a)| to_f64(*a)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let last = i32::try_from(n).unwrap_or(i32::MAX) - 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20).into_font().color(&INK))
            .margin(12)
            // Room for the last month's label, which is centred on the right edge.
            .margin_right(36)
            .x_label_area_size(48)
            .y_label_area_size(110)
            .build_cartesian_2d(0..last.max(1), low..high)
            .map_err(chart_error)?;
        axis_text(
            chart
                .configure_mesh()
                .x_labels(n.min(12))
                .x_label_formatter(&|i| {
                    usize::try_from(*i)
                        .ok()
                        .and_then(|i| months.get(i))
                        .map_or_else(String::new, |(m, _)| m.clone())
                })
                .x_desc("Month")
                .y_desc(format!("Disbursed ({currency})")),
        )
        .draw()
        .map_err(chart_error)?;
        let points: Vec<(i32, f64)> = months
            .iter()
            .enumerate()
            .map(|(i, (_, a))| (i32::try_from(i).unwrap_or(0), to_f64(*a)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), DISBURSED.stroke_width(2)))
            .map_err(chart_error)?;
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, DISBURSED.filled())),
            )
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(finish(svg, title))
}

fn quantity_to_f64(value: Quantity) -> f64 {
    value.to_decimal().to_f64().unwrap_or(0.0)
}

/// One fiscal year of [`results_over_years`].
pub struct YearResult {
    pub year: i32,
    pub target: Option<Quantity>,
    pub actual: Option<Quantity>,
    pub disbursed: Amount,
}

/// An indicator's target and actual per fiscal year (lines with points, on the left axis, in
/// the indicator's unit) beside the money disbursed on what it measures (light bars, on the
/// right axis, in the plan's currency), so a fall in results while spending rises shows.
pub fn results_over_years(
    title: &str,
    unit: &str,
    currency: &str,
    years: &[YearResult],
) -> Result<String, Error> {
    let n = years.len().max(1);
    let width = u32::try_from(n * 90 + 260).unwrap_or(u32::MAX).max(640);
    let (low, high) = y_range(
        years
            .iter()
            .flat_map(|y| [y.target, y.actual])
            .flatten()
            .map(quantity_to_f64),
    );
    let (money_low, money_high) = y_range(years.iter().map(|y| to_f64(y.disbursed)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let last = i32::try_from(n).unwrap_or(i32::MAX) - 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18).into_font().color(&INK))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .right_y_label_area_size(110)
            .build_cartesian_2d((0..last).into_segmented(), low..high)
            .map_err(chart_error)?
            .set_secondary_coord((0..last).into_segmented(), money_low..money_high);
        let labels: Vec<String> = years.iter().map(|y| y.year.to_string()).collect();
        axis_text(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|value| segment_label(value, &labels))
                .x_desc("Fiscal year")
                .y_desc(unit.to_owned()),
        )
        .draw()
        .map_err(chart_error)?;
        chart
            .configure_secondary_axes()
            .y_desc(format!("Disbursed ({currency})"))
            .y_label_formatter(&tick_label)
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .axis_desc_style(("sans-serif", 14).into_font().color(&INK))
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_secondary_series(
                Histogram::vertical(chart.borrow_secondary())
                    .style(ALLOCATED.filled())
                    .margin(18)
                    .baseline(0.0)
                    .data(
                        years
                            .iter()
                            .enumerate()
                            .map(|(i, y)| (i32::try_from(i).unwrap_or(0), to_f64(y.disbursed))),
                    ),
            )
            .map_err(chart_error)?
            .label(format!("Disbursed ({currency})"))
            .legend(bar_legend(ALLOCATED));
        let points = |pick: fn(&YearResult) -> Option<Quantity>| -> Vec<(SegmentValue<i32>, f64)> {
            years
                .iter()
                .enumerate()
                .filter_map(|(i, y)| {
                    pick(y).map(|v| {
                        (
                            SegmentValue::CenterOf(i32::try_from(i).unwrap_or(0)),
                            quantity_to_f64(v),
                        )
                    })
                })
                .collect()
        };
        for (name, color, pick) in [
            (
                "Target",
                TARGET,
                (|y: &YearResult| y.target) as fn(&YearResult) -> Option<Quantity>,
            ),
            ("Actual", ACTUAL, |y: &YearResult| y.actual),
        ] {
            let line = points(pick);
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(chart_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                });
            chart
                .draw_series(line.into_iter().map(|p| Circle::new(p, 4, color.filled())))
                .map_err(chart_error)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(chart_error)?;
    }
    Ok(finish(svg, title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_results_chart_labels_both_axes_and_every_year() {
        let q = |t: &str| Quantity::parse(t).ok();
        let a = |t: &str| Amount::parse(t).unwrap_or_default();
        let svg = results_over_years(
            "Victims identified",
            "victims",
            "EUR",
            &[
                YearResult {
                    year: 2016,
                    target: q("70"),
                    actual: q("54"),
                    disbursed: a("56900"),
                },
                YearResult {
                    year: 2017,
                    target: q("75"),
                    actual: q("47"),
                    disbursed: a("59500"),
                },
                YearResult {
                    year: 2018,
                    target: q("80"),
                    actual: None,
                    disbursed: a("0"),
                },
            ],
        )
        .unwrap_or_default();
        for text in [
            "Victims identified",
            "victims",
            "Disbursed (EUR)",
            "2016",
            "2018",
            "Target",
            "Actual",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
    }

    #[test]
    fn ticks_are_whole_and_grouped() {
        assert_eq!(tick(1234567.4), "1,234,567");
        assert_eq!(tick(-1500.0), "-1,500");
        assert_eq!(tick(0.0), "0");
    }

    #[test]
    fn a_bar_chart_without_groups_is_drawn_empty() {
        let svg = allocated_vs_disbursed("Nothing yet", "EUR", &[]);
        assert!(svg.is_ok_and(|svg| svg.contains("Nothing yet")));
    }

    #[test]
    fn a_bar_chart_is_an_accessible_svg_with_its_title_and_labels() {
        let a = |t: &str| Amount::parse(t).unwrap_or_default();
        let svg = allocated_vs_disbursed(
            "Execution by objective",
            "EUR",
            &[BarGroup {
                label: "PREV".to_owned(),
                allocated: a("1000"),
                disbursed: a("400"),
            }],
        )
        .unwrap_or_default();
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(svg.contains("Execution by objective"));
        assert!(svg.contains("PREV"));
        assert!(svg.contains("Amount (EUR)"));
    }
}
