//! Hand-written inline SVG charts: horizontal bars with intervals, line charts and
//! interval (forest) plots. Every label passes through [`esc`]; every number is finite
//! before it is drawn. See docs/decisions.md (entry 18) for why not plotters.

use std::fmt::Write as _;

use super::escape::esc;

/// Series colours (colour-blind safe: Okabe-Ito).
pub const COLOURS: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

const FONT: &str = "font-family=\"system-ui,sans-serif\" font-size=\"11\"";

fn open(w: f64, h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" {FONT}><title>{}</title>",
        esc(title)
    )
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// One bar: a label, a value, an optional interval.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
    /// Shown at the bar's end.
    pub text: String,
}

/// Horizontal bars from 0 to `max` (at least the largest value or interval end).
pub fn bars(title: &str, rows: &[Bar], colour: &str) -> String {
    let label_w = 150.0;
    let plot_w = 330.0;
    let row_h = 24.0;
    let h = 20.0 + row_h * rows.len() as f64;
    let w = label_w + plot_w + 130.0;
    let max = rows
        .iter()
        .map(|r| finite(r.interval.map_or(r.value, |i| i.1.max(r.value))))
        .fold(0.0, f64::max)
        .max(1e-12);
    let x = |v: f64| label_w + plot_w * finite(v).clamp(0.0, max) / max;
    let mut s = open(w, h, title);
    for (k, r) in rows.iter().enumerate() {
        let y = 10.0 + row_h * k as f64;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{colour}\" opacity=\"0.8\"/>",
            label_w - 6.0,
            y + 11.0,
            esc(&r.label),
            y + 1.0,
            x(r.value) - label_w
        );
        if let Some((lo, hi)) = r.interval {
            let (a, b) = (x(lo), x(hi));
            let m = y + 8.0;
            let _ = write!(
                s,
                "<path d=\"M{a:.1} {m:.1}H{b:.1}M{a:.1} {:.1}V{:.1}M{b:.1} {:.1}V{:.1}\" stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\"/>",
                m - 5.0,
                m + 5.0,
                m - 5.0,
                m + 5.0
            );
        }
        let end = r.interval.map_or(x(r.value), |i| x(i.1).max(x(r.value)));
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            end + 6.0,
            y + 11.0,
            esc(&r.text)
        );
    }
    s.push_str("</svg>");
    s
}

/// A named series of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// Axes of a line chart.
pub struct Axes<'a> {
    pub x: (f64, f64),
    pub y: (f64, f64),
    /// Tick positions and their labels.
    pub x_ticks: Vec<(f64, String)>,
    pub y_ticks: Vec<(f64, String)>,
    pub x_title: &'a str,
    pub y_title: &'a str,
}

/// A line chart with a legend on the right; points are marked.
pub fn lines(title: &str, series: &[Series], a: &Axes) -> String {
    let (left, top, pw, ph) = (52.0, 10.0, 420.0, 210.0);
    let legend_w = 170.0;
    let w = left + pw + 20.0 + legend_w;
    let h = top + ph + 44.0;
    let span = |r: (f64, f64)| (r.1 - r.0).abs().max(1e-12);
    let x = |v: f64| left + pw * (finite(v) - a.x.0) / span(a.x);
    let y = |v: f64| top + ph - ph * (finite(v).clamp(a.y.0, a.y.1) - a.y.0) / span(a.y);
    let mut s = open(w, h, title);
    for (v, l) in &a.y_ticks {
        let yy = y(*v);
        let _ = write!(
            s,
            "<path d=\"M{left} {yy:.1}H{:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left + pw,
            left - 5.0,
            yy + 4.0,
            esc(l)
        );
    }
    for (v, l) in &a.x_ticks {
        let xx = x(*v);
        let _ = write!(
            s,
            "<path d=\"M{xx:.1} {:.1}v4\" stroke=\"#888\"/><text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top + ph,
            top + ph + 15.0,
            esc(l)
        );
    }
    let _ = write!(
        s,
        "<path d=\"M{left} {top}V{:.1}H{:.1}\" stroke=\"#888\" fill=\"none\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text transform=\"translate(12 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        top + ph,
        left + pw,
        left + pw / 2.0,
        top + ph + 34.0,
        esc(a.x_title),
        top + ph / 2.0,
        esc(a.y_title)
    );
    for (k, se) in series.iter().enumerate() {
        let c = COLOURS[k % COLOURS.len()];
        let pts: Vec<(f64, f64)> = se
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(px, py)| (x(px), y(py)))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let d: String = pts
            .iter()
            .enumerate()
            .map(|(i, (px, py))| format!("{}{px:.1} {py:.1}", if i == 0 { "M" } else { "L" }))
            .collect();
        let dash = if se.dashed {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<path d=\"{d}\" stroke=\"{c}\" stroke-width=\"1.8\" fill=\"none\"{dash}/>"
        );
        if !se.dashed {
            for (px, py) in &pts {
                let _ = write!(
                    s,
                    "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.4\" fill=\"{c}\"/>"
                );
            }
        }
        let ly = top + 6.0 + 16.0 * k as f64;
        let lx = left + pw + 20.0;
        let _ = write!(
            s,
            "<path d=\"M{lx:.1} {ly:.1}h16\" stroke=\"{c}\" stroke-width=\"2\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 22.0,
            ly + 4.0,
            esc(&se.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// One row of an interval plot: an estimate with its interval and an optional second
/// marker (a naive estimate, or what actually happened).
pub struct Interval {
    pub label: String,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    pub marker: Option<f64>,
}

/// A forest plot: estimates (filled dots) with intervals, a hollow diamond for each
/// marker, a reference line at `reference` when it lies within the axis.
pub fn forest(
    title: &str,
    rows: &[Interval],
    legend: (&str, &str),
    reference: Option<f64>,
    tick: &dyn Fn(f64) -> String,
) -> String {
    let (label_w, pw, row_h, top) = (150.0, 360.0, 26.0, 8.0);
    let h = top + row_h * rows.len() as f64 + 48.0;
    let w = label_w + pw + 40.0;
    let mut lo = reference.unwrap_or(f64::INFINITY);
    let mut hi = reference.unwrap_or(f64::NEG_INFINITY);
    for r in rows {
        for v in [r.estimate, r.low, r.high]
            .into_iter()
            .chain(r.marker)
            .filter(|v| v.is_finite())
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let x = |v: f64| label_w + pw * (finite(v).clamp(lo, hi) - lo) / (hi - lo);
    let bottom = top + row_h * rows.len() as f64;
    let mut s = open(w, h, title);
    for v in nice_ticks(lo, hi, 5) {
        let _ = write!(
            s,
            "<path d=\"M{:.1} {top}V{bottom:.1}\" stroke=\"#eee\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(v),
            x(v),
            bottom + 14.0,
            esc(&tick(v))
        );
    }
    if let Some(r) = reference {
        let _ = write!(
            s,
            "<path d=\"M{:.1} {top}V{bottom:.1}\" stroke=\"#888\" stroke-dasharray=\"3 3\"/>",
            x(r)
        );
    }
    for (k, r) in rows.iter().enumerate() {
        let y = top + row_h * k as f64 + row_h / 2.0;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><path d=\"M{:.1} {y:.1}H{:.1}\" stroke=\"{}\" stroke-width=\"2\"/><circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{}\"/>",
            label_w - 8.0,
            y + 4.0,
            esc(&r.label),
            x(r.low),
            x(r.high),
            COLOURS[0],
            x(r.estimate),
            COLOURS[0]
        );
        if let Some(m) = r.marker.filter(|m| m.is_finite()) {
            let (mx, c) = (x(m), COLOURS[1]);
            let _ = write!(
                s,
                "<path d=\"M{mx:.1} {:.1}l5 5l-5 5l-5 -5z\" fill=\"white\" stroke=\"{c}\" stroke-width=\"1.6\"/>",
                y - 5.0
            );
        }
    }
    let ly = bottom + 32.0;
    let _ = write!(
        s,
        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
        label_w,
        ly,
        COLOURS[0],
        label_w + 10.0,
        ly + 4.0,
        esc(legend.0),
    );
    // No marker legend when the chart has no markers.
    if !legend.1.is_empty() {
        let _ = write!(
            s,
            "<path d=\"M{:.1} {:.1}l5 5l-5 5l-5 -5z\" fill=\"white\" stroke=\"{}\" stroke-width=\"1.6\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            label_w + 200.0,
            ly - 5.0,
            COLOURS[1],
            label_w + 210.0,
            ly + 4.0,
            esc(legend.1)
        );
    }
    s.push_str("</svg>");
    s
}

/// Round tick positions within [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten,
/// about `n` of them.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || n == 0 {
        return Vec::new();
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A small inline bar for a table cell: `share` of the width, in [0, 1].
pub fn cell_bar(share: f64, colour: &str) -> String {
    let w = (100.0 * finite(share).clamp(0.0, 1.0)).round();
    format!(
        "<svg class=\"cellbar\" viewBox=\"0 0 100 8\" width=\"100\" height=\"8\" aria-hidden=\"true\"><rect width=\"100\" height=\"8\" fill=\"#eef1f5\"/><rect width=\"{w}\" height=\"8\" fill=\"{colour}\"/></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::nice_ticks;

    #[test]
    fn ticks_are_round() {
        let close = |a: Vec<f64>, b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
        };
        assert!(close(nice_ticks(0.0, 1.0, 4), &[0.0, 0.25, 0.5, 0.75, 1.0]));
        // (0.078 + 0.07) / 5 = 0.0296: the next step of 1, 2, 2.5, 5 x 10^k is 0.05.
        assert!(close(nice_ticks(-0.07, 0.078, 5), &[-0.05, 0.0, 0.05]));
        assert!(close(
            nice_ticks(0.9, 1.0, 4),
            &[0.9, 0.925, 0.95, 0.975, 1.0]
        ));
        assert!(nice_ticks(1.0, 1.0, 4).is_empty());
    }
}
