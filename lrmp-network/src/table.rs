//! Layer-table import: one mappable layer per CSV row or TOML `[[layer]]` table.
//!
//! Keys: `name`, `kind` (`conv` | `fc`), `c_in`, `c_out`, `kernel` (or `kernel_h` and
//! `kernel_w`), `stride` (or `stride_h`/`stride_w`, default 1), `padding` (or
//! `padding_h`/`padding_w`, default 0), `groups` (default 1), `in_h`, `in_w`, and
//! optionally `out_h`/`out_w`, which are checked against the derived output size. An `fc`
//! row takes flattened features (`c_in = C*H*W`); its kernel, stride, groups and spatial
//! sizes may be omitted and must be 1 when given. Rows are independent: the table lists
//! layers in execution order and branches need no wiring. Unknown keys are refused (they
//! are typos far more often than extensions). See `docs/network-formats.md`.

use std::collections::BTreeMap;

use super::geometry::{fc_layer, ConvGeometry, FieldError};
use super::{Layer, Network, NetworkError};

/// Keys a row may carry.
pub const KEYS: &[&str] = &[
    "name",
    "kind",
    "c_in",
    "c_out",
    "kernel",
    "kernel_h",
    "kernel_w",
    "stride",
    "stride_h",
    "stride_w",
    "padding",
    "padding_h",
    "padding_w",
    "groups",
    "in_h",
    "in_w",
    "out_h",
    "out_w",
];

/// One raw value: CSV gives text, TOML integers or strings.
enum Cell {
    Int(i64),
    Text(String),
}

/// One row before validation; `label` (`line 3`, `layer[2]`) locates it when it has no name.
struct Row {
    label: String,
    cells: BTreeMap<String, Cell>,
}

impl Row {
    fn text(&self, key: &str) -> Result<Option<&str>, FieldError> {
        match self.cells.get(key) {
            None => Ok(None),
            Some(Cell::Text(t)) => Ok(Some(t.as_str())),
            Some(Cell::Int(_)) => Err(FieldError::new(key, "expected a string")),
        }
    }

    fn uint(&self, key: &str) -> Result<Option<u32>, FieldError> {
        let value = match self.cells.get(key) {
            None => return Ok(None),
            Some(Cell::Int(i)) => *i,
            Some(Cell::Text(t)) => t
                .parse::<i64>()
                .map_err(|_| FieldError::new(key, format!("`{t}` is not an integer")))?,
        };
        if value < 0 {
            return Err(FieldError::new(key, format!("must not be negative, got {value}")));
        }
        u32::try_from(value)
            .map(Some)
            .map_err(|_| FieldError::new(key, format!("{value} is too large")))
    }

    fn required(&self, key: &str) -> Result<u32, FieldError> {
        self.uint(key)?.ok_or_else(|| FieldError::new(key, "missing"))
    }

    /// A per-axis value given either once (`kernel`) or per axis (`kernel_h`, `kernel_w`).
    fn pair(&self, key: &str, h_key: &str, w_key: &str, default: Option<u32>) -> Result<(u32, u32), FieldError> {
        let both = self.uint(key)?;
        let side = |axis_key: &str| -> Result<u32, FieldError> {
            match (self.uint(axis_key)?, both) {
                (Some(a), Some(b)) if a != b => {
                    Err(FieldError::new(axis_key, format!("{a} conflicts with `{key}` = {b}")))
                }
                (Some(a), _) | (None, Some(a)) => Ok(a),
                (None, None) => {
                    default.ok_or_else(|| FieldError::new(axis_key, format!("missing (give `{key}` or `{axis_key}`)")))
                }
            }
        };
        Ok((side(h_key)?, side(w_key)?))
    }

    fn layer(&self) -> Result<Layer, FieldError> {
        let name = self
            .text("name")?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| FieldError::new("name", "missing"))?;
        let kind = self.text("kind")?.ok_or_else(|| FieldError::new("kind", "missing"))?;
        let c_in = self.required("c_in")?;
        let c_out = self.required("c_out")?;
        let layer = match kind.to_ascii_lowercase().as_str() {
            "conv" => ConvGeometry {
                c_in,
                c_out,
                kernel: self.pair("kernel", "kernel_h", "kernel_w", None)?,
                stride: self.pair("stride", "stride_h", "stride_w", Some(1))?,
                pad_begin: self.pair("padding", "padding_h", "padding_w", Some(0))?,
                pad_end: self.pair("padding", "padding_h", "padding_w", Some(0))?,
                dilation: (1, 1),
                groups: self.uint("groups")?.unwrap_or(1),
                input: (self.required("in_h")?, self.required("in_w")?),
            }
            .layer(name)?,
            "fc" => {
                self.expect_flat()?;
                fc_layer(name, c_in, c_out)?
            }
            other => return Err(FieldError::new("kind", format!("`{other}` is neither `conv` nor `fc`"))),
        };
        let d = layer.shape.dims();
        for (key, derived) in [("out_h", d.out_h), ("out_w", d.out_w)] {
            if let Some(given) = self.uint(key)? {
                if given != derived {
                    return Err(FieldError::new(
                        key,
                        format!("{given} disagrees with the derived output size {derived}"),
                    ));
                }
            }
        }
        Ok(layer)
    }

    /// An fc row's spatial keys, when present, must describe a 1x1 layer.
    fn expect_flat(&self) -> Result<(), FieldError> {
        for key in KEYS
            .iter()
            .copied()
            .filter(|k| k.starts_with("kernel") || k.starts_with("stride") || k.starts_with("in_"))
        {
            if let Some(v) = self.uint(key)?.filter(|v| *v != 1) {
                return Err(FieldError::new(
                    key,
                    format!("must be 1 for an fc layer (give flattened features as c_in), got {v}"),
                ));
            }
        }
        if let Some(v) = self.uint("groups")?.filter(|v| *v != 1) {
            return Err(FieldError::new("groups", format!("must be 1 for an fc layer, got {v}")));
        }
        for key in ["padding", "padding_h", "padding_w"] {
            if let Some(v) = self.uint(key)?.filter(|v| *v != 0) {
                return Err(FieldError::new(key, format!("must be 0 for an fc layer, got {v}")));
            }
        }
        Ok(())
    }
}

fn check_key(source: &str, at: &str, key: &str) -> Result<(), NetworkError> {
    if KEYS.contains(&key) {
        Ok(())
    } else {
        let e = NetworkError::new(source, format!("unknown key (known: {})", KEYS.join(", ")));
        Err(e.at_layer(at).at_field(key))
    }
}

fn rows_to_network(source: &str, name: &str, rows: &[Row]) -> Result<Network, NetworkError> {
    let mut layers = Vec::with_capacity(rows.len());
    for row in rows {
        let at = match row.text("name") {
            Ok(Some(n)) if !n.is_empty() => n.to_owned(),
            _ => row.label.clone(),
        };
        layers.push(row.layer().map_err(|e| e.locate(source, &at))?);
    }
    Network::new(name, source, layers)
}

/// Parses a CSV layer table (header row of [`KEYS`], `#` comments, empty cell = absent).
pub fn parse_csv(text: &str, source: &str, name: &str) -> Result<Network, NetworkError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| {
        let line = e
            .position()
            .map_or_else(|| "header".to_owned(), |p| format!("line {}", p.line()));
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("has {len} fields, the header has {expected_len}")
            }
            _ => e.to_string(),
        };
        NetworkError::new(source, message).at_layer(line)
    };
    let headers: Vec<String> = reader.headers().map_err(csv_error)?.iter().map(str::to_owned).collect();
    for (i, key) in headers.iter().enumerate() {
        check_key(source, "header", key)?;
        if headers.iter().take(i).any(|k| k == key) {
            return Err(NetworkError::new(source, "duplicate column")
                .at_layer("header")
                .at_field(key.clone()));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let cells = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), Cell::Text(v.to_owned())))
            .collect();
        rows.push(Row {
            label: format!("line {line}"),
            cells,
        });
    }
    rows_to_network(source, name, &rows)
}

/// Parses a TOML layer table: optional top-level `name`, then `[[layer]]` tables.
pub fn parse_toml(text: &str, source: &str, default_name: &str) -> Result<Network, NetworkError> {
    let top: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| text.bytes().take(s.start).filter(|&b| b == b'\n').count() + 1);
        NetworkError::new(
            source,
            format!("not valid TOML (line {line}): {}", e.message().trim_end()),
        )
    })?;
    if let Some(key) = top.keys().find(|k| !matches!(k.as_str(), "name" | "layer")) {
        let e = NetworkError::new(source, "unknown top-level key (known: name, layer)");
        return Err(e.at_field(key.clone()));
    }
    let name = match top.get("name") {
        None => default_name,
        Some(toml::Value::String(s)) => s.as_str(),
        Some(_) => return Err(NetworkError::new(source, "expected a string").at_field("name")),
    };
    let Some(toml::Value::Array(items)) = top.get("layer") else {
        return Err(NetworkError::new(source, "missing `[[layer]]` tables").at_field("layer"));
    };
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let toml::Value::Table(table) = item else {
            let label = format!("layer[{i}]");
            return Err(NetworkError::new(source, "expected a table")
                .at_layer(label)
                .at_field("layer"));
        };
        let label = match table.get("name") {
            Some(toml::Value::String(n)) if !n.is_empty() => n.clone(),
            _ => format!("layer[{i}]"),
        };
        let mut cells = BTreeMap::new();
        for (key, value) in table {
            check_key(source, &label, key)?;
            let cell = match value {
                toml::Value::Integer(v) => Cell::Int(*v),
                toml::Value::String(s) => Cell::Text(s.clone()),
                _ => {
                    let e = NetworkError::new(source, "expected an integer or a string");
                    return Err(e.at_layer(label).at_field(key.clone()));
                }
            };
            cells.insert(key.clone(), cell);
        }
        rows.push(Row { label, cells });
    }
    rows_to_network(source, name, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\
# a two-layer net
name,kind,c_in,c_out,kernel,stride,padding,groups,in_h,in_w
conv1,conv,3,16,3,2,1,1,32,32
dw,conv,16,16,3,1,1,16,16,16
fc,fc,4096,10,,,,,,
";

    #[test]
    fn csv_derives_output_sizes() {
        let net = parse_csv(CSV, "t.csv", "t").unwrap();
        let d: Vec<_> = net
            .layers
            .iter()
            .map(|l| (l.shape.dims().out_h, l.shape.groups()))
            .collect();
        assert_eq!(d, [(16, 1), (16, 16), (1, 1)]);
        assert_eq!(net.layers[0].stride, (2, 2));
    }

    #[test]
    fn toml_matches_csv() {
        let toml = r#"
name = "t"
[[layer]]
name = "conv1"
kind = "conv"
c_in = 3
c_out = 16
kernel = 3
stride = 2
padding = 1
in_h = 32
in_w = 32
[[layer]]
name = "dw"
kind = "conv"
c_in = 16
c_out = 16
kernel_h = 3
kernel_w = 3
padding = 1
groups = 16
in_h = 16
in_w = 16
out_h = 16
[[layer]]
name = "fc"
kind = "fc"
c_in = 4096
c_out = 10
"#;
        assert_eq!(
            parse_toml(toml, "t.toml", "x").unwrap(),
            parse_csv(CSV, "t.csv", "t").unwrap()
        );
    }

    #[test]
    fn conflicting_and_wrong_values_name_the_field() {
        let bad = |row: &str| {
            let text = format!("name,kind,c_in,c_out,kernel,kernel_h,stride,in_h,in_w,out_h\n{row}\n");
            parse_csv(&text, "b.csv", "b").unwrap_err()
        };
        assert_eq!(bad("c,conv,3,8,3,5,1,8,8,").field.as_deref(), Some("kernel_h"));
        assert_eq!(bad("c,conv,3,8,3,,1,8,8,7").field.as_deref(), Some("out_h"));
        assert_eq!(bad("c,conv,3,8,3,,x,8,8,").field.as_deref(), Some("stride"));
        assert_eq!(bad("c,pool,3,8,3,,1,8,8,").field.as_deref(), Some("kind"));
        assert_eq!(bad("c,fc,3,8,3,,1,8,8,").field.as_deref(), Some("kernel"));
        assert_eq!(bad(",conv,3,8,3,,1,8,8,").layer.as_deref(), Some("line 2"));
    }
}
