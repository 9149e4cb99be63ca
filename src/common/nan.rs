//! Reading back numbers that were written as JSON: serde_json writes a NaN (a missing
//! figure) as `null`, which a plain `f64` does not accept. These read `null` as NaN, so
//! an output file reads back into the very type that wrote it.

use serde::{Deserialize, Deserializer};

/// NaN: the default of a figure an older file does not have.
pub fn missing() -> f64 {
    f64::NAN
}

/// Two NaNs: the default of an interval an older file does not have.
pub fn missing_pair() -> (f64, f64) {
    (f64::NAN, f64::NAN)
}

/// An `f64` that may have been written as `null`.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A pair of `f64`s, either of which may have been written as `null`.
pub fn pair<'de, D: Deserializer<'de>>(d: D) -> Result<(f64, f64), D::Error> {
    let (a, b) = <(Option<f64>, Option<f64>)>::deserialize(d)?;
    Ok((a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)))
}

/// `(name, f64)` pairs whose numbers may have been written as `null`.
pub fn named<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, f64)>, D::Error> {
    let v = Vec::<(String, Option<f64>)>::deserialize(d)?;
    Ok(v.into_iter()
        .map(|(n, x)| (n, x.unwrap_or(f64::NAN)))
        .collect())
}

/// `f64`s that may have been written as `null`.
pub fn many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v = Vec::<Option<f64>>::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::f64")]
        a: f64,
        #[serde(deserialize_with = "super::pair")]
        b: (f64, f64),
    }

    #[test]
    fn null_reads_as_nan() {
        let t: T = serde_json::from_str(r#"{"a": null, "b": [1.5, null]}"#).unwrap();
        assert!(t.a.is_nan() && t.b.0 == 1.5 && t.b.1.is_nan());
        let t: T = serde_json::from_str(r#"{"a": 2.0, "b": [null, 3.0]}"#).unwrap();
        assert!(t.a == 2.0 && t.b.0.is_nan() && t.b.1 == 3.0);
    }
}
