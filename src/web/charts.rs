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

/// The bar of the money allocated: a mid blue, 3.4:1 against the white background.
const ALLOCATED: RGBColor = RGBColor(0x5a, 0x8e, 0xc6);
/// The bar of the money disbursed: a dark blue, 13.5:1 against white and 3.9:1 against the
/// allocated bar it is drawn inside.
const DISBURSED: RGBColor = RGBColor(0x0a, 0x2f, 0x57);
/// A light fill for the money behind an indicator's lines, so that the lines stay readable
/// over it; its edge, 3.8:1 against white, is what shows the bar.
const MONEY_FILL: RGBColor = RGBColor(0xc9, 0xdd, 0xf2);
const MONEY_EDGE: RGBColor = RGBColor(0x4f, 0x86, 0xc0);
const INK: RGBColor = RGBColor(0x1b, 0x1f, 0x24);
const TARGET: RGBColor = RGBColor(0x6b, 0x6f, 0x76);
const ACTUAL: RGBColor = RGBColor(0xb3, 0x26, 0x1e);

/// Every colour a chart draws data with, for the test of their contrast.
#[cfg(test)]
const DATA_COLOURS: [RGBColor; 5] = [ALLOCATED, DISBURSED, MONEY_EDGE, TARGET, ACTUAL];

/// Font sizes as plotters takes them: its SVG backend writes `size / 1.24` as the
/// `font-size`, so 17 is 13.7 px, the smallest text of a chart.
const LABEL_SIZE: f64 = 17.0;
const DESC_SIZE: f64 = 18.0;
const CAPTION_SIZE: f64 = 22.0;
/// The smallest text of a chart in CSS pixels, and the least it may be shown at: a chart is
/// never shrunk below the width at which its smallest text is 12 px (it scrolls instead).
#[cfg(test)]
const SMALLEST_TEXT_PX: f64 = LABEL_SIZE / 1.24;
#[cfg(test)]
const LEAST_TEXT_PX: f64 = 12.0;

/// Above this many groups, the bars of [`allocated_vs_disbursed`] lie horizontally with
/// the groups' names beside them, and the chart grows with the groups.
const MAX_VERTICAL_GROUPS: usize = 8;
/// The height of one group of horizontal bars, in pixels.
const ROW_PX: usize = 30;
/// The longest name beside a horizontal bar; a longer one is cut with an ellipsis (the table
/// under the chart has it whole).
const MAX_NAME_CHARS: usize = 44;

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

fn font(size: f64) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

/// The widths a chart is drawn at. Each has a class (`chart-760`, …) whose `min-width` in
/// `static/app.css` keeps its smallest text at [`LEAST_TEXT_PX`] or more: the page's content
/// security policy allows no inline style, so the width cannot be written on the chart itself.
const WIDTHS: [u32; 3] = [760, 980, 1220];

/// The least of [`WIDTHS`] that holds `needed` pixels, or the widest.
fn chart_width(needed: usize) -> u32 {
    let needed = u32::try_from(needed).unwrap_or(u32::MAX);
    WIDTHS
        .into_iter()
        .find(|w| *w >= needed)
        .unwrap_or(WIDTHS[WIDTHS.len() - 1])
}

/// The least width, in CSS pixels, at which a chart drawn `width` wide shows its smallest text
/// at [`LEAST_TEXT_PX`]: what the stylesheet's rule of that width says.
#[cfg(test)]
fn least_width(width: u32) -> f64 {
    (f64::from(width) * LEAST_TEXT_PX / SMALLEST_TEXT_PX).ceil()
}

/// Makes the SVG an accessible image named by its title, and lets it shrink with the page,
/// but not below the width at which its smallest text is still [`LEAST_TEXT_PX`] (its class).
fn finish(svg: String, title: &str, width: u32) -> String {
    let escaped = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{escaped}\" class=\"chart chart-{width}\" "),
        1,
    )
}

/// [`tick`] in the shape plotters asks of a label formatter.
fn tick_label(value: &f64) -> String {
    tick(*value)
}

/// The axis text of every chart: whole, grouped ticks on the value axis, one font for labels
/// and one for the axis descriptions.
fn axis_text<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.label_style(font(LABEL_SIZE))
        .axis_desc_style(font(DESC_SIZE))
}

/// The label of segment `value`: the label of its group, none between.
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
        .label_font(font(LABEL_SIZE))
        .draw()
        .map_err(chart_error)
}

/// A legend in a row of its own, above the plot, where it cannot hide a bar: a swatch and a
/// label per series.
fn legend_row(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    entries: &[(String, RGBColor)],
) -> Result<(), Error> {
    let mut x = 12;
    for (label, color) in entries {
        area.draw(&Rectangle::new([(x, 8), (x + 16, 24)], color.filled()))
            .map_err(chart_error)?;
        area.draw(&Text::new(label.clone(), (x + 22, 8), font(LABEL_SIZE)))
            .map_err(chart_error)?;
        // A generous estimate of the label's width: 0.6 of the font size per character.
        let chars = i32::try_from(label.chars().count()).unwrap_or(40);
        x += 22 + chars * 9 + 28;
    }
    Ok(())
}

/// The range for values, with zero always in view and, with `headroom`, room above the
/// largest for a legend drawn inside the plot.
fn value_range(values: impl Iterator<Item = f64>, headroom: f64) -> (f64, f64) {
    let (low, high) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let high = if high <= 0.0 { 1.0 } else { high * headroom };
    let low = if low < 0.0 { low * 1.1 } else { 0.0 };
    (low, high)
}

/// [`value_range`] with room for a legend inside the plot.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    value_range(values, 1.25)
}

/// One bar group of [`allocated_vs_disbursed`]: a short label (a code or a year), the
/// group's name, and the two amounts.
pub struct BarGroup {
    pub label: String,
    pub name: String,
    pub allocated: Amount,
    pub disbursed: Amount,
}

impl BarGroup {
    /// What a horizontal bar is labelled with: the group's name, cut to
    /// [`MAX_NAME_CHARS`], or its label when it has no name.
    fn long_label(&self) -> String {
        let name = self.name.trim();
        if name.is_empty() {
            return self.label.clone();
        }
        if name.chars().count() <= MAX_NAME_CHARS {
            return name.to_owned();
        }
        let cut: String = name.chars().take(MAX_NAME_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Allocated (a wide bar) and disbursed (a narrow dark bar inside it) per group, so that how
/// much of each allocation was paid out can be read at a glance. A few groups stand as
/// vertical bars labelled with their short labels; more than [`MAX_VERTICAL_GROUPS`] lie
/// horizontally, one row each, labelled with their names, and the chart grows with them.
pub fn allocated_vs_disbursed(
    title: &str,
    currency: &str,
    groups: &[BarGroup],
) -> Result<String, Error> {
    if groups.len() > MAX_VERTICAL_GROUPS {
        horizontal_bars(title, currency, groups)
    } else {
        vertical_bars(title, currency, groups)
    }
}

fn vertical_bars(title: &str, currency: &str, groups: &[BarGroup]) -> Result<String, Error> {
    let n = groups.len().max(1);
    let width = chart_width(n * 80 + 200);
    let (low, high) = y_range(
        groups
            .iter()
            .flat_map(|g| [to_f64(g.allocated), to_f64(g.disbursed)]),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        // A range of integers is inclusive in plotters: 0..last has a segment for each group.
        let last = i32::try_from(n).unwrap_or(i32::MAX) - 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, font(CAPTION_SIZE))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(130)
            .build_cartesian_2d((0..last).into_segmented(), low..high)
            .map_err(chart_error)?;
        let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
        axis_text(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|value| segment_label(value, &labels))
                .y_label_formatter(&tick_label)
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
                    .margin(24)
                    .baseline(0.0)
                    .data(indexed(|g| g.disbursed)),
            )
            .map_err(chart_error)?
            .label(format!("Disbursed ({currency})"))
            .legend(bar_legend(DISBURSED));
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(chart_error)?;
    }
    Ok(finish(svg, title, width))
}

/// The height of a horizontal bar chart of `groups` groups: a row each, and the title, the
/// legend and the value axis.
fn horizontal_height(groups: usize) -> u32 {
    u32::try_from(groups.max(1) * ROW_PX + 170).unwrap_or(u32::MAX)
}

fn horizontal_bars(title: &str, currency: &str, groups: &[BarGroup]) -> Result<String, Error> {
    let n = groups.len().max(1);
    let width = 980;
    let height = horizontal_height(n);
    let (low, high) = value_range(
        groups
            .iter()
            .flat_map(|g| [to_f64(g.allocated), to_f64(g.disbursed)]),
        1.05,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let root = root
            .titled(title, font(CAPTION_SIZE))
            .map_err(chart_error)?;
        let (top, plot) = root.split_vertically(36);
        legend_row(
            &top,
            &[
                (format!("Allocated ({currency})"), ALLOCATED),
                (format!("Disbursed ({currency})"), DISBURSED),
            ],
        )?;
        let last = i32::try_from(n).unwrap_or(i32::MAX) - 1;
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .margin_right(48)
            .x_label_area_size(56)
            .y_label_area_size(380)
            .build_cartesian_2d(low..high, (0..last).into_segmented())
            .map_err(chart_error)?;
        // The first group at the top, as in the table under the chart.
        let labels: Vec<String> = groups.iter().rev().map(BarGroup::long_label).collect();
        axis_text(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&|value| segment_label(value, &labels))
                .x_labels(6)
                .x_label_formatter(&tick_label)
                .x_desc(format!("Amount ({currency})")),
        )
        .draw()
        .map_err(chart_error)?;
        let indexed = |pick: fn(&BarGroup) -> Amount| {
            groups.iter().enumerate().map(move |(i, g)| {
                let row = last - i32::try_from(i).unwrap_or(0);
                (row, to_f64(pick(g)))
            })
        };
        chart
            .draw_series(
                Histogram::horizontal(&chart)
                    .style(ALLOCATED.filled())
                    .margin(3)
                    .baseline(0.0)
                    .data(indexed(|g| g.allocated)),
            )
            .map_err(chart_error)?;
        chart
            .draw_series(
                Histogram::horizontal(&chart)
                    .style(DISBURSED.filled())
                    .margin(10)
                    .baseline(0.0)
                    .data(indexed(|g| g.disbursed)),
            )
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(finish(svg, title, width))
}

/// A calendar month, the unit of the time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// `2016-03` as a month; anything else is none.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        let year: i32 = year.parse().ok()?;
        let month: u32 = month.parse().ok()?;
        (year.to_string().len() == 4 && (1..=12).contains(&month) && text.len() == 7)
            .then_some(Month { year, month })
    }

    /// Months since the start of year 0: consecutive months are consecutive numbers.
    fn index(self) -> i32 {
        self.year * 12 + i32::try_from(self.month).unwrap_or(1) - 1
    }

    fn of_index(index: i32) -> Month {
        Month {
            year: index.div_euclid(12),
            month: u32::try_from(index.rem_euclid(12) + 1).unwrap_or(1),
        }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The time axis of months `first` to `last`: where each month's bar stands (its index from
/// the first month) and the ticks, each year's January on a long axis, every third month
/// on one of two years or less.
#[derive(Debug, PartialEq)]
struct TimeAxis {
    first: i32,
    /// Months on the axis, from the first to the last, those without money included.
    months: i32,
    /// (position from the first month, label).
    ticks: Vec<(i32, String)>,
}

impl TimeAxis {
    fn new(first: Month, last: Month) -> TimeAxis {
        let (first, last) = (first.index(), last.index().max(first.index()));
        let months = last - first + 1;
        let ticks = (first..=last)
            .map(Month::of_index)
            .filter(|m| {
                if months <= 24 {
                    m.month % 3 == 1
                } else {
                    m.month == 1
                }
            })
            .map(|m| {
                let label = if months <= 24 {
                    m.to_string()
                } else {
                    m.year.to_string()
                };
                (m.index() - first, label)
            })
            .collect();
        TimeAxis {
            first,
            months,
            ticks,
        }
    }

    /// Where month `m` starts on the axis.
    fn position(&self, m: Month) -> i32 {
        m.index() - self.first
    }
}

/// The x coordinate of the time axis: months from the first, with the axis's own ticks
/// rather than plotters' round numbers, which fall on no month in particular.
struct MonthCoord {
    months: f64,
    ticks: Vec<f64>,
}

impl Ranged for MonthCoord {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        let share = if self.months > 0.0 {
            value / self.months
        } else {
            0.0
        };
        limit.0 + (share * span).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Every tick when they fit; else every second, third, … one.
        let most = hint.max_num_points().max(1);
        let step = self.ticks.len().div_ceil(most).max(1);
        self.ticks.iter().copied().step_by(step).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.months
    }
}

/// Disbursed per month on a time axis: a bar for each month with money, from the first such
/// month to the last, and nothing where a month had none, so that years without payments
/// show as the gap they are.
pub fn disbursed_over_time(
    title: &str,
    currency: &str,
    months: &[(Month, Amount)],
) -> Result<String, Error> {
    let width = 980;
    let first = months.iter().map(|(m, _)| *m).min();
    let last = months.iter().map(|(m, _)| *m).max();
    let axis = match (first, last) {
        (Some(first), Some(last)) => TimeAxis::new(first, last),
        _ => TimeAxis {
            first: 0,
            months: 1,
            ticks: Vec::new(),
        },
    };
    let (low, high) = value_range(months.iter().map(|(_, a)| to_f64(*a)), 1.1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let ticks: Vec<f64> = axis.ticks.iter().map(|(at, _)| f64::from(*at)).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, font(CAPTION_SIZE))
            .margin(12)
            .margin_right(40)
            .x_label_area_size(56)
            .y_label_area_size(130)
            .build_cartesian_2d(
                MonthCoord {
                    months: f64::from(axis.months),
                    ticks,
                },
                low..high,
            )
            .map_err(chart_error)?;
        let tick_text = |at: &f64| {
            axis.ticks
                .iter()
                .find(|(position, _)| (f64::from(*position) - at).abs() < 0.01)
                .map_or_else(String::new, |(_, label)| label.clone())
        };
        axis_text(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_label_formatter(&tick_text)
                .y_label_formatter(&tick_label)
                .x_desc("Month")
                .y_desc(format!("Disbursed ({currency})")),
        )
        .draw()
        .map_err(chart_error)?;
        chart
            .draw_series(months.iter().map(|(m, amount)| {
                let at = f64::from(axis.position(*m));
                Rectangle::new(
                    [(at + 0.1, 0.0), (at + 0.9, to_f64(*amount))],
                    DISBURSED.filled(),
                )
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(finish(svg, title, width))
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
    let width = chart_width(n * 100 + 300);
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
        let root = SVGBackend::with_string(&mut svg, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let last = i32::try_from(n).unwrap_or(i32::MAX) - 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, font(CAPTION_SIZE))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(100)
            .right_y_label_area_size(130)
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
                .y_label_formatter(&tick_label)
                .x_desc("Fiscal year")
                .y_desc(unit.to_owned()),
        )
        .draw()
        .map_err(chart_error)?;
        chart
            .configure_secondary_axes()
            .y_desc(format!("Disbursed ({currency})"))
            .y_label_formatter(&tick_label)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .draw()
            .map_err(chart_error)?;
        let money = || {
            years
                .iter()
                .enumerate()
                .map(|(i, y)| (i32::try_from(i).unwrap_or(0), to_f64(y.disbursed)))
        };
        // A light fill that the lines stay readable over, and an edge that shows the bar.
        chart
            .draw_secondary_series(
                Histogram::vertical(chart.borrow_secondary())
                    .style(MONEY_FILL.filled())
                    .margin(18)
                    .baseline(0.0)
                    .data(money()),
            )
            .map_err(chart_error)?
            .label(format!("Disbursed ({currency})"))
            .legend(|(x, y)| {
                EmptyElement::at((x, y))
                    + Rectangle::new([(0, -6), (14, 6)], MONEY_FILL.filled())
                    + Rectangle::new([(0, -6), (14, 6)], MONEY_EDGE.stroke_width(2))
            });
        chart
            .draw_secondary_series(
                Histogram::vertical(chart.borrow_secondary())
                    .style(MONEY_EDGE.stroke_width(2))
                    .margin(18)
                    .baseline(0.0)
                    .data(money()),
            )
            .map_err(chart_error)?;
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
    Ok(finish(svg, title, width))
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
                name: "Prevention".to_owned(),
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

    fn groups(n: usize) -> Vec<BarGroup> {
        let a = |t: &str| Amount::parse(t).unwrap_or_default();
        (1..=n)
            .map(|i| BarGroup {
                label: format!("ACT-{i:02}"),
                name: format!("Activity number {i} with a name of its own"),
                allocated: a("1000"),
                disbursed: a(&format!("{}", i * 10)),
            })
            .collect()
    }

    /// The `font-size` of every text of `svg`.
    fn font_sizes(svg: &str) -> Vec<f64> {
        svg.split("font-size=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter_map(|size| size.parse().ok())
            .collect()
    }

    /// The number in `name="…"` of the first element.
    fn attribute(svg: &str, name: &str) -> Option<f64> {
        let rest = svg.split(&format!(" {name}=\"")).nth(1)?;
        rest.split('"').next()?.parse().ok()
    }

    /// Every text of `svg`: its `y` and what it says.
    fn texts(svg: &str) -> Vec<(f64, String)> {
        svg.split("<text")
            .skip(1)
            .filter_map(|rest| {
                let (attributes, rest) = rest.split_once('>')?;
                let (content, _) = rest.split_once("</text>")?;
                Some((
                    attribute(attributes, "y").unwrap_or_default(),
                    content.trim().to_owned(),
                ))
            })
            .collect()
    }

    fn says(svg: &str, text: &str) -> bool {
        texts(svg).iter().any(|(_, t)| t == text)
    }

    #[test]
    fn many_bars_lie_horizontally_labelled_with_names_and_the_chart_grows_with_them() {
        let svg = allocated_vs_disbursed("By activity", "EUR", &groups(40)).unwrap_or_default();
        assert!(svg.contains("Activity number 1 with a name of its own"));
        assert!(svg.contains("Activity number 40 with a name of its own"));
        assert!(!svg.contains("ACT-01"), "names, not codes");
        let height = attribute(&svg, "height").unwrap_or_default();
        assert!(height >= 40.0 * 28.0, "{height}");
        let ten = allocated_vs_disbursed("By activity", "EUR", &groups(10)).unwrap_or_default();
        assert!(attribute(&ten, "height").unwrap_or_default() < height);
        // The first group is the top row: its label is drawn above the last one's.
        let y_of = |text: &str| {
            texts(&svg)
                .into_iter()
                .find(|(_, t)| t == text)
                .map_or(0.0, |(y, _)| y)
        };
        let first = y_of("Activity number 1 with a name of its own");
        let last = y_of("Activity number 40 with a name of its own");
        assert!(first < last, "{first} {last}");
    }

    #[test]
    fn a_few_bars_stand_vertically_labelled_with_their_codes() {
        let svg = allocated_vs_disbursed("By objective", "EUR", &groups(5)).unwrap_or_default();
        assert!(says(&svg, "ACT-05"));
        assert!(!svg.contains("Activity number 1 with"));
    }

    #[test]
    fn a_long_name_is_cut_with_an_ellipsis() {
        let group = BarGroup {
            label: "X".to_owned(),
            name: "a".repeat(80),
            allocated: Amount::ZERO,
            disbursed: Amount::ZERO,
        };
        let label = group.long_label();
        assert_eq!(label.chars().count(), MAX_NAME_CHARS);
        assert!(label.ends_with('…'));
    }

    #[test]
    fn no_chart_text_is_smaller_than_12_px_even_at_its_least_width() {
        for svg in [
            allocated_vs_disbursed("Vertical", "EUR", &groups(3)),
            allocated_vs_disbursed("Horizontal", "EUR", &groups(30)),
            disbursed_over_time(
                "Months",
                "EUR",
                &[(
                    Month {
                        year: 2016,
                        month: 3,
                    },
                    Amount::parse("10").unwrap_or_default(),
                )],
            ),
        ] {
            let svg = svg.unwrap_or_default();
            let width = attribute(&svg, "width").unwrap_or_default();
            assert!(WIDTHS.iter().any(|w| f64::from(*w) == width), "{width}");
            let least = least_width(width as u32);
            assert!(least > 0.0 && least <= width, "{least} of {width}");
            let smallest = font_sizes(&svg).into_iter().fold(f64::MAX, f64::min);
            assert!(
                smallest * least / width >= 11.99,
                "{smallest} px at {least} of {width}"
            );
            assert!(svg.contains(&format!("class=\"chart chart-{width}\"")));
        }
    }

    #[test]
    fn the_stylesheet_keeps_every_chart_width_at_its_least() {
        let css = include_str!("../../static/app.css");
        for width in WIDTHS {
            let rule = format!(
                "svg.chart-{width} {{ min-width: {}px; }}",
                least_width(width)
            );
            assert!(css.contains(&rule), "app.css lacks: {rule}");
        }
    }

    #[test]
    fn months_lie_on_a_time_axis_where_a_gap_of_years_stays_a_gap() {
        let m = |year, month| Month { year, month };
        let axis = TimeAxis::new(m(2015, 3), m(2026, 12));
        assert_eq!(axis.position(m(2015, 3)), 0);
        assert_eq!(axis.position(m(2019, 12)), 57);
        assert_eq!(axis.position(m(2026, 12)), 141);
        assert_eq!(axis.months, 142);
        // A tick each January, in order, labelled with its year.
        let labels: Vec<&str> = axis.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels.first(), Some(&"2016"));
        assert_eq!(labels.last(), Some(&"2026"));
        assert_eq!(labels.len(), 11);
        assert!(axis.ticks.windows(2).all(|w| w[1].0 - w[0].0 == 12));
        // On a short axis, every third month.
        let short = TimeAxis::new(m(2016, 1), m(2016, 12));
        let labels: Vec<&str> = short.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["2016-01", "2016-04", "2016-07", "2016-10"]);
    }

    #[test]
    fn a_month_parses_from_its_report_key_and_nothing_else_does() {
        assert_eq!(
            Month::parse("2019-12"),
            Some(Month {
                year: 2019,
                month: 12
            })
        );
        assert_eq!(
            Month::parse("2019-12").map(|m| m.to_string()).as_deref(),
            Some("2019-12")
        );
        for text in ["2019-13", "2019-1", "19-12", "", "2019-00", "PREV"] {
            assert_eq!(Month::parse(text), None, "{text}");
        }
    }

    #[test]
    fn the_monthly_chart_draws_a_bar_per_month_with_money_and_labels_its_years() {
        let a = |t: &str| Amount::parse(t).unwrap_or_default();
        let m = |year, month| Month { year, month };
        let svg = disbursed_over_time(
            "By month",
            "EUR",
            &[
                (m(2019, 11), a("50")),
                (m(2019, 12), a("100")),
                (m(2026, 12), a("70")),
            ],
        )
        .unwrap_or_default();
        for year in ["2020", "2023", "2026"] {
            assert!(says(&svg, year), "{year}: {:?}", texts(&svg));
        }
        assert!(svg.contains("Disbursed (EUR)"));
    }

    /// WCAG's relative luminance of a colour.
    fn luminance(color: RGBColor) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(color.0) + 0.7152 * linear(color.1) + 0.0722 * linear(color.2)
    }

    fn contrast(a: RGBColor, b: RGBColor) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn every_data_colour_stands_3_to_1_against_the_background() {
        for color in DATA_COLOURS {
            assert!(contrast(color, WHITE) >= 3.0, "{color:?}");
        }
        // The disbursed bar is drawn inside the allocated one.
        assert!(contrast(DISBURSED, ALLOCATED) >= 3.0);
        // The indicator's lines are drawn over the money's light fill.
        assert!(contrast(TARGET, MONEY_FILL) >= 3.0);
        assert!(contrast(ACTUAL, MONEY_FILL) >= 3.0);
    }
}
