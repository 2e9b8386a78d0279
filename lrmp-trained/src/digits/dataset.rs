//! The digits CSV (`p0..p63,label`) and its fixed train/test split.
//!
//! Split: the sample indices `0..n` are shuffled by [`SplitMix64`] seeded with
//! [`SPLIT_SEED`]; the first `n / 5` (integer division) are the held-out test split, the rest
//! train. For the committed 1797-sample file: 359 test, 1438 train.

use std::fmt;

use super::{CLASSES, PIXELS, PIXEL_MAX};
use crate::rng::SplitMix64;

/// Seed of the train/test shuffle.
pub const SPLIT_SEED: u64 = 0x1797_D161;

/// One image: 64 pixel counts `0..=16` (row-major) and its label `0..=9`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Pixels, row-major.
    pub pixels: [u8; PIXELS],
    /// Class.
    pub label: u8,
}

/// A validated data set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Samples in file order.
    pub samples: Vec<Sample>,
}

/// A malformed data file; names the file and the 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// The file.
    pub source: String,
    /// 1-based line number, when the fault is on one line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}: line {line}: {}", self.source, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for DataError {}

impl Dataset {
    /// Parses the CSV text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Dataset, DataError> {
        let err = |line: usize, message: String| DataError {
            source: source.to_string(),
            line: Some(line),
            message,
        };
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let expected_header: Vec<String> = (0..PIXELS)
            .map(|i| format!("p{i}"))
            .chain(std::iter::once("label".to_string()))
            .collect();
        match lines.next() {
            Some((_, header))
                if header
                    .split(',')
                    .map(str::trim)
                    .eq(expected_header.iter().map(String::as_str)) => {}
            Some((n, _)) => return Err(err(n, "header must be `p0,...,p63,label`".into())),
            None => {
                return Err(DataError {
                    source: source.into(),
                    line: None,
                    message: "file is empty".into(),
                })
            }
        }
        let mut samples = Vec::new();
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != PIXELS + 1 {
                return Err(err(
                    n,
                    format!("expected {} fields, found {}", PIXELS + 1, fields.len()),
                ));
            }
            let mut pixels = [0u8; PIXELS];
            for (i, (slot, field)) in pixels.iter_mut().zip(&fields).enumerate() {
                *slot = field
                    .parse::<u8>()
                    .ok()
                    .filter(|v| *v <= PIXEL_MAX)
                    .ok_or_else(|| err(n, format!("p{i} = `{field}` is not an integer in 0..={PIXEL_MAX}")))?;
            }
            let label_field = fields.get(PIXELS).copied().unwrap_or_default();
            let label = label_field
                .parse::<u8>()
                .ok()
                .filter(|v| usize::from(*v) < CLASSES)
                .ok_or_else(|| {
                    err(
                        n,
                        format!("label = `{label_field}` is not an integer in 0..={}", CLASSES - 1),
                    )
                })?;
            samples.push(Sample { pixels, label });
        }
        if samples.len() < 10 {
            return Err(DataError {
                source: source.into(),
                line: None,
                message: format!("{} samples; at least 10 are needed for a split", samples.len()),
            });
        }
        Ok(Dataset { samples })
    }

    /// The committed data set embedded in the binary.
    pub fn embedded() -> Result<Dataset, DataError> {
        Dataset::parse("data/digits/digits.csv (embedded)", super::EMBEDDED_CSV)
    }

    /// The fixed split: `(train, test)` index lists into [`Dataset::samples`].
    pub fn split(&self) -> Split {
        let mut order: Vec<usize> = (0..self.samples.len()).collect();
        SplitMix64::new(SPLIT_SEED).shuffle(&mut order);
        let test = order.len() / 5;
        let train = order.split_off(test);
        Split { train, test: order }
    }
}

/// Sample indices of the two splits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Training (and calibration) samples.
    pub train: Vec<usize>,
    /// Held-out test samples.
    pub test: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_file_parses_and_splits_80_20() {
        let d = Dataset::embedded().unwrap();
        assert_eq!(d.samples.len(), 1797);
        let s = d.split();
        assert_eq!((s.train.len(), s.test.len()), (1438, 359));
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert!(all.iter().copied().eq(0..1797));
        assert_eq!(s, d.split(), "split is deterministic");
    }

    #[test]
    fn malformed_lines_are_named() {
        let header: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
        let header = format!("{},label", header.join(","));
        let row = |px: &str, label: &str| format!("{}{px},{label}", "0,".repeat(63));
        let good: Vec<String> = (0..12).map(|_| row("3", "4")).collect();
        let mut text = format!("{header}\n{}\n", good.join("\n"));
        assert!(Dataset::parse("t.csv", &text).is_ok());
        text.push_str(&row("17", "1"));
        let e = Dataset::parse("t.csv", &text).unwrap_err();
        assert_eq!(e.line, Some(14));
        assert!(e.to_string().contains("t.csv: line 14: p63"), "{e}");
        let e = Dataset::parse("t.csv", &format!("{header}\n{}\n1,2\n", good.join("\n"))).unwrap_err();
        assert!(e.to_string().contains("line 14: expected 65 fields"), "{e}");
        let e = Dataset::parse("t.csv", &format!("{header}\n{}\n", row("1", "x"))).unwrap_err();
        assert!(e.to_string().contains("line 2: label"), "{e}");
        assert_eq!(Dataset::parse("t.csv", "a,b\n").unwrap_err().line, Some(1));
    }
}
