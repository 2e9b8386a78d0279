//! Per-layer precision assignments: `--bits W/A`, precision files, and the fixed ends.
//!
//! Every assignment leaves here as one validated [`Precision`] per mappable layer, in layer
//! order, with bit widths inside [`SUPPORTED_BITS`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;

use imc_model::{Bits, Precision};
use serde::Deserialize;

use crate::network::Network;

/// Bit widths a plan may use. Eight is the baseline; more would never be chosen.
pub const SUPPORTED_BITS: RangeInclusive<u8> = 1..=8;

/// A precision that could not be parsed or assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrecisionError {
    /// The file or option being read.
    pub source: String,
    /// The layer at fault, when one is.
    pub layer: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PrecisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(layer) = &self.layer {
            write!(f, ": layer `{layer}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PrecisionError {}

fn bits(value: i64, what: &str) -> Result<Bits, String> {
    u8::try_from(value)
        .ok()
        .filter(|b| SUPPORTED_BITS.contains(b))
        .and_then(Bits::new)
        .ok_or_else(|| {
            format!(
                "{what} = {value} is out of range ({}..={})",
                SUPPORTED_BITS.start(),
                SUPPORTED_BITS.end()
            )
        })
}

/// Parses `W/A` (or `B` for both) into a precision.
pub fn parse_bits(text: &str) -> Result<Precision, String> {
    let number = |s: &str, what: &str| -> Result<Bits, String> {
        let v: i64 = s
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not W/A (e.g. 4/6)"))?;
        bits(v, what)
    };
    match text.split_once('/') {
        Some((w, a)) => Ok(Precision {
            w_bits: number(w, "weight bits")?,
            a_bits: number(a, "activation bits")?,
        }),
        None => {
            let b = number(text, "bits")?;
            Ok(Precision { w_bits: b, a_bits: b })
        }
    }
}

/// Indices of the first and last mappable layers, which stay 8/8 unless freed.
pub fn fixed_ends(layers: usize) -> [usize; 2] {
    [0, layers.saturating_sub(1)]
}

/// `precision` on every layer; the first and last stay 8/8 unless `free_ends`.
pub fn uniform(network: &Network, precision: Precision, free_ends: bool) -> Vec<Precision> {
    let ends = fixed_ends(network.layers.len());
    (0..network.layers.len())
        .map(|i| {
            if !free_ends && ends.contains(&i) {
                Precision::BASELINE
            } else {
                precision
            }
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LayerEntry {
    Text(String),
    Fields { w_bits: i64, a_bits: i64 },
}

#[derive(Deserialize)]
struct NamedEntry {
    name: String,
    w_bits: i64,
    a_bits: i64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Layers {
    ByName(BTreeMap<String, LayerEntry>),
    List(Vec<NamedEntry>),
}

#[derive(Deserialize)]
struct PrecisionFile {
    default: Option<String>,
    layers: Option<Layers>,
}

/// Loads a precision file (TOML or JSON) for `network`.
///
/// Forms accepted: `default = "W/A"` for unlisted layers (8/8 otherwise), and `layers` as
/// either a table `name = "W/A"` (or `{ w_bits, a_bits }`), or a list of objects with
/// `name`, `w_bits`, `a_bits` — so a `--json` report of `lrmp plan`/`search` is itself a
/// precision file. Names must exist in the network; the file's choices are taken as given.
pub fn load_file(path: &Path, network: &Network) -> Result<Vec<Precision>, PrecisionError> {
    let source = path.display().to_string();
    let err = |layer: Option<&str>, message: String| PrecisionError {
        source: source.clone(),
        layer: layer.map(str::to_string),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let file: PrecisionFile = if source.ends_with(".json") {
        serde_json::from_str(&text).map_err(|e| err(None, format!("invalid precision file: {e}")))?
    } else {
        toml::from_str(&text).map_err(|e| err(None, format!("invalid precision file: {}", e.message())))?
    };
    let default = match &file.default {
        Some(text) => parse_bits(text).map_err(|m| err(None, format!("`default`: {m}")))?,
        None => Precision::BASELINE,
    };
    let index: HashMap<&str, usize> = network
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let mut out = vec![default; network.layers.len()];
    let entries: Vec<(String, Result<Precision, String>)> = match file.layers {
        None => Vec::new(),
        Some(Layers::ByName(map)) => map
            .into_iter()
            .map(|(name, entry)| {
                let p = match entry {
                    LayerEntry::Text(t) => parse_bits(&t),
                    LayerEntry::Fields { w_bits, a_bits } => fields(w_bits, a_bits),
                };
                (name, p)
            })
            .collect(),
        Some(Layers::List(list)) => list.into_iter().map(|e| (e.name, fields(e.w_bits, e.a_bits))).collect(),
    };
    for (name, precision) in entries {
        let &i = index
            .get(name.as_str())
            .ok_or_else(|| err(Some(&name), format!("no such layer in network `{}`", network.name)))?;
        out[i] = precision.map_err(|m| err(Some(&name), m))?;
    }
    Ok(out)
}

fn fields(w_bits: i64, a_bits: i64) -> Result<Precision, String> {
    Ok(Precision {
        w_bits: bits(w_bits, "w_bits")?,
        a_bits: bits(a_bits, "a_bits")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_w_over_a() {
        let p = parse_bits("4/6").unwrap();
        assert_eq!((p.w_bits.get(), p.a_bits.get()), (4, 6));
        let p = parse_bits("5").unwrap();
        assert_eq!((p.w_bits.get(), p.a_bits.get()), (5, 5));
        assert!(parse_bits("9/8").unwrap_err().contains("out of range"));
        assert!(parse_bits("0/8").unwrap_err().contains("out of range"));
        assert!(parse_bits("-1/8").unwrap_err().contains("out of range"));
        assert!(parse_bits("a/b").is_err());
        assert!(parse_bits("").is_err());
    }

    #[test]
    fn ends_are_fixed() {
        assert_eq!(fixed_ends(5), [0, 4]);
        assert_eq!(fixed_ends(1), [0, 0]);
    }
}
