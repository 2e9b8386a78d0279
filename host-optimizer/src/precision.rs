//! Per-layer precision assignments: `--bits W/A`, precision files, and the fixed ends.
//!
//! Every assignment leaves here as one validated [`Precision`] per mappable layer, in layer
//! order, with bit widths inside [`SUPPORTED_BITS`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;

use imc_model::{Bits, Precision};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

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

/// The top level of a precision file; `layers` is read entry by entry so that every error
/// can name its layer.
#[derive(Deserialize)]
struct PrecisionFile {
    default: Option<Value>,
    layers: Option<Value>,
    /// Other keys: refused in TOML (a typo would be silently ignored); allowed in JSON,
    /// where a `--json` report carries many.
    #[serde(flatten)]
    other: BTreeMap<String, IgnoredAny>,
}

/// Loads a precision file (TOML or JSON) for `network`.
///
/// Forms accepted: `default = "W/A"` for unlisted layers (8/8 otherwise), and `layers` as
/// either a table `name = "W/A"` (or `{ w_bits, a_bits }`), or a list of objects with
/// `name`, `w_bits`, `a_bits` — so a `--json` report of `lrmp plan`/`search` is itself a
/// precision file. Names must exist in the network and appear once; a file must set
/// `default` or `layers`. The file's choices are taken as given.
pub fn load_file(path: &Path, network: &Network) -> Result<Vec<Precision>, PrecisionError> {
    let source = path.display().to_string();
    let err = |layer: Option<&str>, message: String| PrecisionError {
        source: source.clone(),
        layer: layer.map(str::to_string),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(None, format!("cannot read: {e}")))?;
    let json = source.ends_with(".json");
    let file: PrecisionFile = if json {
        serde_json::from_str(&text).map_err(|e| err(None, format!("invalid precision file: {e}")))?
    } else {
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
            let at = line.map_or(String::new(), |l| format!(" (line {l})"));
            err(None, format!("invalid precision file{at}: {}", e.message().trim_end()))
        })?
    };
    if let (false, Some(key)) = (json, file.other.keys().next()) {
        return Err(err(None, format!("unknown key `{key}` (known: default, layers)")));
    }
    if file.default.is_none() && file.layers.is_none() {
        return Err(err(None, "sets neither `default` nor `layers`".into()));
    }
    let default = match &file.default {
        Some(Value::String(text)) => parse_bits(text).map_err(|m| err(None, format!("`default`: {m}")))?,
        Some(_) => return Err(err(None, "`default` must be a string such as \"4/6\"".into())),
        None => Precision::BASELINE,
    };
    // Per layer: its precision and whether the file listed it.
    let mut slots = vec![(default, false); network.layers.len()];
    let mut index: HashMap<&str, &mut (Precision, bool)> = network
        .layers
        .iter()
        .map(|l| l.name.as_str())
        .zip(slots.iter_mut())
        .collect();
    for (name, precision) in entries(file.layers).map_err(|(at, m)| err(Some(&at), m))? {
        let (slot, seen) = index
            .get_mut(name.as_str())
            .ok_or_else(|| err(Some(&name), format!("no such layer in network `{}`", network.name)))?;
        if std::mem::replace(seen, true) {
            return Err(err(Some(&name), "listed twice".into()));
        }
        *slot = precision.map_err(|m| err(Some(&name), m))?;
    }
    drop(index);
    Ok(slots.into_iter().map(|(precision, _)| precision).collect())
}

type Entry = (String, Result<Precision, String>);

/// The `(layer name, precision)` pairs of `layers`; a malformed entry is `Err((where, why))`.
fn entries(layers: Option<Value>) -> Result<Vec<Entry>, (String, String)> {
    match layers {
        None => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(dotted(map, "")
            .into_iter()
            .map(|(name, entry)| {
                let p = match &entry {
                    Value::String(t) => parse_bits(t),
                    Value::Object(o) => fields(o),
                    _ => Err("must be \"W/A\" or { w_bits = W, a_bits = A }".to_string()),
                };
                (name, p)
            })
            .collect()),
        Some(Value::Array(list)) => list
            .into_iter()
            .enumerate()
            .map(|(i, entry)| match entry.get("name") {
                Some(Value::String(name)) => {
                    let p = entry.as_object().map_or_else(|| Err(String::new()), fields);
                    Ok((name.clone(), p))
                }
                _ => Err((format!("layers[{i}]"), "needs a string `name`".to_string())),
            })
            .collect(),
        Some(_) => Err((
            "layers".to_string(),
            "must be a table of `name = \"W/A\"` or a list of {name, w_bits, a_bits}".to_string(),
        )),
    }
}

/// Undoes TOML's splitting of dotted keys: `layer1.0.conv1 = "4/4"` arrives as nested
/// tables; an entry is a table only when it holds `w_bits` or `a_bits`.
fn dotted(map: serde_json::Map<String, Value>, prefix: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (key, value) in map {
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !inner.contains_key("w_bits") && !inner.contains_key("a_bits") => {
                out.extend(dotted(inner, &name));
            }
            other => out.push((name, other)),
        }
    }
    out
}

fn fields(entry: &serde_json::Map<String, Value>) -> Result<Precision, String> {
    let get = |key: &str| -> Result<Bits, String> {
        match entry.get(key) {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) => bits(v, key),
                None => Err(format!("{key} = {n} is not an integer in 1..=8")),
            },
            Some(other) => Err(format!("{key} = {other} is not an integer")),
            None => Err(format!("missing `{key}`")),
        }
    };
    Ok(Precision {
        w_bits: get("w_bits")?,
        a_bits: get("a_bits")?,
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
    fn dotted_layer_names_need_no_quotes() {
        let net = crate::network::builtin("resnet18").expect("built in");
        let path = std::env::temp_dir().join(format!("lrmp-precision-{}.toml", std::process::id()));
        let text =
            "default = \"6/6\"\n[layers]\nlayer1.0.conv1 = \"4/5\"\nlayer1.0.conv2 = { w_bits = 3, a_bits = 2 }\n";
        std::fs::write(&path, text).unwrap();
        let got = load_file(&path, &net);
        let _ = std::fs::remove_file(&path);
        let got = got.unwrap();
        let at = |name: &str| {
            let p = got[net.layers.iter().position(|l| l.name == name).unwrap()];
            (p.w_bits.get(), p.a_bits.get())
        };
        assert_eq!(at("layer1.0.conv1"), (4, 5));
        assert_eq!(at("layer1.0.conv2"), (3, 2));
        assert_eq!(at("conv1"), (6, 6));
    }

    #[test]
    fn ends_are_fixed() {
        assert_eq!(fixed_ends(5), [0, 4]);
        assert_eq!(fixed_ends(1), [0, 0]);
    }
}
