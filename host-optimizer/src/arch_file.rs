//! Architecture presets and files (`--arch PRESET|FILE`).
//!
//! A preset is a TOML file under `presets/`, compiled in. A user file is TOML or JSON with
//! the fields of [`ArchParams`], an optional `[physical]` table with the fields of
//! [`PhysicalParams`] (DESIGN section 9.1), an optional `name`, and an optional `base`
//! preset whose values (its `[physical]` table field by field) fill what the file leaves
//! out. The result is a validated [`ArchConfig`] and, when the table is there, a validated
//! [`PhysicalConfig`]: without it the cost model is section 3 alone (preset `ideal`).

use std::fmt;
use std::path::Path;

use imc_model::physical::{PhysicalConfig, PhysicalParams};
use imc_model::{ArchConfig, ArchParams};

/// Built-in presets: name and TOML text. The first is the default.
pub const PRESETS: &[(&str, &str)] = &[
    ("isaac", include_str!("../../presets/isaac.toml")),
    ("ideal", include_str!("../../presets/ideal.toml")),
    ("isaac-noc", include_str!("../../presets/isaac-noc.toml")),
];

/// A validated architecture with the name reports show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedArch {
    /// Preset name, the file's `name`, or the file stem.
    pub name: String,
    /// The parameters of DESIGN section 2.
    pub config: ArchConfig,
    /// The physical model's parameters (section 9.1); `None` for section 3 alone.
    pub physical: Option<PhysicalConfig>,
}

/// An architecture that could not be loaded; names the source and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchFileError {
    /// Preset name or file path.
    pub source: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ArchFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ArchFileError {}

/// Loads a preset by name or an architecture file by path.
pub fn load(spec: &str) -> Result<NamedArch, ArchFileError> {
    if let Some((name, text)) = PRESETS.iter().find(|(name, _)| *name == spec) {
        return from_toml_text(name, text);
    }
    let path = Path::new(spec);
    let err = |message: String| ArchFileError {
        source: spec.to_string(),
        field: None,
        message,
    };
    if !path.exists() {
        let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
        return Err(err(format!("no such preset or file (presets: {})", names.join(", "))));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let table = if spec.ends_with(".json") {
        serde_json::from_str::<toml::Table>(&text).map_err(|e| err(format!("invalid JSON: {e}")))?
    } else {
        text.parse::<toml::Table>()
            .map_err(|e| err(format!("invalid TOML: {e}")))?
    };
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(spec);
    from_table(spec, stem, table)
}

fn from_toml_text(source: &str, text: &str) -> Result<NamedArch, ArchFileError> {
    let table = text.parse::<toml::Table>().map_err(|e| ArchFileError {
        source: source.to_string(),
        field: None,
        message: format!("invalid TOML: {e}"),
    })?;
    from_table(source, source, table)
}

fn from_table(source: &str, default_name: &str, mut table: toml::Table) -> Result<NamedArch, ArchFileError> {
    let err = |field: Option<&str>, message: String| ArchFileError {
        source: source.to_string(),
        field: field.map(str::to_string),
        message,
    };
    let name = match table.remove("name") {
        None => default_name.to_string(),
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err(err(Some("name"), "must be a string".into())),
    };
    let mut merged = match table.remove("base") {
        None => toml::Table::new(),
        Some(toml::Value::String(base)) => {
            let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == base) else {
                return Err(err(Some("base"), format!("unknown preset `{base}`")));
            };
            let mut base_table: toml::Table = text.parse().map_err(|e| err(Some("base"), format!("{e}")))?;
            base_table.remove("name");
            if base_table.contains_key("base") {
                return Err(err(
                    Some("base"),
                    format!("preset `{base}` is itself derived; name its base instead"),
                ));
            }
            base_table
        }
        Some(_) => return Err(err(Some("base"), "must be a preset name".into())),
    };
    let base_physical = merged.remove(PHYSICAL);
    let own_physical = table.remove(PHYSICAL);
    merged.extend(table);
    let physical = match (base_physical, own_physical) {
        (None, None) => None,
        (Some(toml::Value::Table(mut base)), Some(toml::Value::Table(own))) => {
            base.extend(own);
            Some(base)
        }
        (_, Some(toml::Value::Table(own))) => Some(own),
        (Some(toml::Value::Table(base)), None) => Some(base),
        _ => return Err(err(Some(PHYSICAL), "must be a table of section 9.1 fields".into())),
    };
    let physical = physical.map(|t| physical_config(source, t)).transpose()?;
    let params: ArchParams = toml::Value::Table(merged.clone())
        .try_into()
        .map_err(|e: toml::de::Error| {
            let message = e.message().trim_end().to_string();
            match culprit(&merged) {
                Some(field) => err(Some(&field), message),
                None if message.starts_with("missing field") => err(
                    None,
                    format!("{message} (give every field, or `base = \"isaac\"` to start from a preset)"),
                ),
                None => err(None, message),
            }
        })?;
    let config = ArchConfig::new(params).map_err(|e| {
        let message = format!("{} is out of range (accepted {}..={})", e.value, e.min, e.max);
        err(Some(e.field), message)
    })?;
    if let Some(p) = &physical {
        if p.xbars_per_tile() != config.xbars_per_tile() {
            return Err(err(
                Some("xbars_per_tile"),
                format!(
                    "{} must equal physical.xbars_per_ima x physical.imas_per_tile = {}",
                    config.xbars_per_tile(),
                    p.xbars_per_tile()
                ),
            ));
        }
    }
    Ok(NamedArch { name, config, physical })
}

/// The key of the physical model's table.
const PHYSICAL: &str = "physical";

/// Validates a `[physical]` table; errors name the field as `physical.FIELD`.
fn physical_config(source: &str, table: toml::Table) -> Result<PhysicalConfig, ArchFileError> {
    let err = |field: Option<String>, message: String| ArchFileError {
        source: source.to_string(),
        field,
        message,
    };
    let params: PhysicalParams = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| {
            let message = e.message().trim_end().to_string();
            let field = physical_culprit(&table).map(|f| format!("{PHYSICAL}.{f}"));
            match field {
                None if message.starts_with("missing field") => err(
                    None,
                    format!("[{PHYSICAL}]: {message} (give every field, or `base = \"isaac\"` to start from a preset)"),
                ),
                field => err(field, message),
            }
        })?;
    PhysicalConfig::new(params).map_err(|e| {
        err(
            Some(format!("{PHYSICAL}.{}", e.field)),
            format!("{} is out of range (minimum {}, maximum {})", e.value, e.min, e.max),
        )
    })
}

/// [`culprit`] for the `[physical]` table.
fn physical_culprit(table: &toml::Table) -> Option<String> {
    let complete = toml::Table::try_from(PhysicalParams::ISAAC).ok()?;
    table.iter().find_map(|(key, value)| {
        let mut probe = complete.clone();
        probe.insert(key.clone(), value.clone());
        let fails = toml::Value::Table(probe).try_into::<PhysicalParams>().is_err();
        (fails && complete.contains_key(key)).then(|| key.clone())
    })
}

/// The first key whose value alone makes a complete table fail to deserialize: serde's
/// type errors do not say which field they are about.
fn culprit(table: &toml::Table) -> Option<String> {
    let complete = toml::Table::try_from(ArchParams::ISAAC).ok()?;
    table.iter().find_map(|(key, value)| {
        let mut probe = complete.clone();
        probe.insert(key.clone(), value.clone());
        let fails = toml::Value::Table(probe).try_into::<ArchParams>().is_err();
        (fails && complete.contains_key(key)).then(|| key.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isaac_preset_is_the_design_default() {
        let a = load("isaac").unwrap();
        assert_eq!(a.name, "isaac");
        assert_eq!(a.config, ArchConfig::isaac());
        assert_eq!(a.physical, Some(PhysicalConfig::isaac()));
        let ideal = load("ideal").unwrap();
        assert_eq!((ideal.config, ideal.physical), (ArchConfig::isaac(), None));
    }

    #[test]
    fn physical_fields_merge_with_the_base_and_name_themselves() {
        let t: toml::Table = "base = \"isaac\"\n[physical]\nio_bits_per_cycle = 64".parse().unwrap();
        let a = from_table("f.toml", "f", t).unwrap();
        let p = a.physical.unwrap();
        assert_eq!((p.io_bits_per_cycle(), p.xbars_per_ima()), (64, 8));
        for (text, field) in [
            ("[physical]\nimas_per_tile = 0", "physical.imas_per_tile"),
            ("[physical]\nadc_pj = \"0\"", "physical.adc_pj"),
            ("[physical]\nlink_bits_per_cycle = 4", "physical.link_bits_per_cycle"),
            ("[physical]\nadc_pj = \"lots\"", "physical.adc_pj"),
            ("[physical]\nimas_per_tile = 6", "xbars_per_tile"),
            ("physical = 3", "physical"),
        ] {
            let t: toml::Table = format!("base = \"isaac\"\n{text}").parse().unwrap();
            let e = from_table("f.toml", "f", t).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{text}: {e}");
        }
    }

    #[test]
    fn derived_preset_overrides_its_base() {
        let a = load("isaac-noc").unwrap();
        assert_eq!(a.config.noc_bits_per_cycle(), Some(1024));
        assert_eq!(a.config.xbar_rows(), 128);
    }

    #[test]
    fn bad_tables_name_the_field() {
        let t: toml::Table = "base = \"isaac\"\nxbar_rows = 0".parse().unwrap();
        let e = from_table("f.toml", "f", t).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("xbar_rows"));
        let t: toml::Table = "base = \"isaac\"\nxbar_rowz = 3".parse().unwrap();
        let e = from_table("f.toml", "f", t).unwrap_err();
        assert!(e.message.contains("xbar_rowz"), "{e}");
        let t: toml::Table = "xbar_rows = 128".parse().unwrap();
        let e = from_table("f.toml", "f", t).unwrap_err();
        assert!(e.message.contains("missing field"), "{e}");
        let t: toml::Table = "base = \"nope\"".parse().unwrap();
        assert_eq!(from_table("f.toml", "f", t).unwrap_err().field.as_deref(), Some("base"));
        assert!(load("no-such-preset").unwrap_err().message.contains("isaac"));
    }
}
