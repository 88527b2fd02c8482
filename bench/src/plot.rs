//! Line charts as standalone SVG, written by the bench itself: a few dozen
//! lines of text beat a plotting crate with font dependencies for charts
//! this simple (a handful of points per series, log or linear x, linear y
//! from zero).

use std::fmt::Write;

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Ceilings are dashed, Guildhall solid.
    pub dashed: bool,
    /// Series of one group (Guildhall and its ceiling) share a colour.
    pub group: usize,
}

pub struct Chart {
    pub title: String,
    pub x_label: &'static str,
    pub y_label: &'static str,
    pub log_x: bool,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round step giving about five ticks up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn label(value: f64) -> String {
    if value >= 10_000.0 && (value / 1000.0).fract() == 0.0 {
        format!("{}k", value / 1000.0)
    } else if value >= 10_000.0 {
        format!("{:.1}k", value / 1000.0)
    } else if value >= 100.0 || value == value.round() {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

impl Chart {
    pub fn svg(&self) -> String {
        let points = self.series.iter().flat_map(|s| s.points.iter());
        let mut xs: Vec<f64> = points.clone().map(|p| p.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let y_max = points.map(|p| p.1).fold(0.0, f64::max);
        let step = nice_step(if y_max > 0.0 { y_max * 1.05 } else { 1.0 });
        let y_top = (y_max * 1.05 / step).ceil().max(1.0) * step;
        let tx = |x: f64| -> f64 {
            let f = |v: f64| if self.log_x { v.max(1e-9).ln() } else { v };
            let (lo, hi) = (
                f(*xs.first().unwrap_or(&0.0)),
                f(*xs.last().unwrap_or(&1.0)),
            );
            let span = if hi > lo { hi - lo } else { 1.0 };
            LEFT + (f(x) - lo) / span * (WIDTH - LEFT - RIGHT)
        };
        let ty = |y: f64| TOP + (1.0 - y / y_top) * (HEIGHT - TOP - BOTTOM);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>
"#,
            (LEFT + WIDTH - RIGHT) / 2.0,
            escape(&self.title)
        );
        let mut tick = 0.0;
        while tick <= y_top + step / 2.0 {
            let y = ty(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                label(tick)
            );
            tick += step;
        }
        for &x in &xs {
            let px = tx(x);
            let _ = writeln!(
                svg,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{}" stroke="#eee"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                HEIGHT - BOTTOM,
                HEIGHT - BOTTOM + 16.0,
                label(x)
            );
        }
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{b}" stroke="#333"/><line x1="{LEFT}" x2="{r}" y1="{b}" y2="{b}" stroke="#333"/>
<text x="{cx}" y="{xl}" text-anchor="middle">{xlabel}</text>
<text transform="translate(18 {cy}) rotate(-90)" text-anchor="middle">{ylabel}</text>"##,
            b = HEIGHT - BOTTOM,
            r = WIDTH - RIGHT,
            cx = (LEFT + WIDTH - RIGHT) / 2.0,
            xl = HEIGHT - 14.0,
            cy = (TOP + HEIGHT - BOTTOM) / 2.0,
            xlabel = escape(self.x_label),
            ylabel = escape(self.y_label),
        );
        for (i, series) in self.series.iter().enumerate() {
            let color = COLORS[series.group % COLORS.len()];
            let dash = if series.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let path: Vec<String> = series
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", tx(x), ty(y)))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                path.join(" ")
            );
            for &(x, y) in &series.points {
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                    tx(x),
                    ty(y)
                );
            }
            let ly = TOP + 10.0 + i as f64 * 20.0;
            let lx = WIDTH - RIGHT + 15.0;
            let _ = writeln!(
                svg,
                r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
                lx + 24.0,
                lx + 30.0,
                ly + 4.0,
                escape(&series.name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_series_and_point() {
        let chart = Chart {
            title: "t <1>".into(),
            x_label: "connections",
            y_label: "req/s",
            log_x: true,
            series: vec![
                Series {
                    name: "a".into(),
                    points: vec![(1.0, 10.0), (16.0, 200.0), (256.0, 150.0)],
                    dashed: false,
                    group: 0,
                },
                Series {
                    name: "b".into(),
                    points: vec![(1.0, 20.0), (256.0, 400.0)],
                    dashed: true,
                    group: 0,
                },
            ],
        };
        let svg = chart.svg();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 5);
        assert!(svg.contains("t &lt;1&gt;"));
        assert!(!svg.contains("NaN"));
    }
}
