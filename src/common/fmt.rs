//! Numbers as people read them: money with thousands separators, shares as percentages.

/// A whole number with thousands separators: 33393 -> "33,393", -1500 -> "-1,500".
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// Whole currency units with thousands separators: `-$1,234,568`.
pub fn money(x: f64) -> String {
    let v = x.round();
    format!("{}${}", if v < 0.0 { "-" } else { "" }, thousands(v.abs()))
}

/// A share as a percentage to one decimal (`12.3%`), or `missing` when there is none.
pub fn pct_or(x: Option<f64>, missing: &str) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{:.1}%", 100.0 * v),
        _ => missing.to_string(),
    }
}

/// A share as a percentage to one decimal, `-` when it is not a number.
pub fn pct(x: f64) -> String {
    pct_or(Some(x), "-")
}

/// A share as signed percentage points to one decimal (`-1.2`, `+0.4`), `0.0` when it
/// rounds to zero (never `-0.0` or `+0.0`), `-` when it is not a number.
pub fn pts(share: f64) -> String {
    if !share.is_finite() {
        return "-".into();
    }
    let r = (1000.0 * share).round() / 10.0;
    if r == 0.0 {
        "0.0".into()
    } else {
        format!("{r:+.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(money(1_234_567.6), "$1,234,568");
        assert_eq!(money(-950.0), "-$950");
        assert_eq!(money(0.4), "$0");
        assert_eq!(money(-0.4), "$0");
        assert_eq!(thousands(33393.0), "33,393");
        assert_eq!(thousands(-1500.0), "-1,500");
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(pct(f64::NAN), "-");
        assert_eq!(pct_or(None, "n/a"), "n/a");
        assert_eq!(pts(-0.0004), "0.0");
        assert_eq!(pts(0.0004), "0.0");
        assert_eq!(pts(-0.0123), "-1.2");
        assert_eq!(pts(0.0051), "+0.5");
        assert_eq!(pts(f64::NAN), "-");
    }
}
