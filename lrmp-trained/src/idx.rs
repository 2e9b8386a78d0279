//! IDX files (the MNIST family's format), gzip-compressed or not, parsed once into validated
//! image and label sets.
//!
//! Layout (big-endian): magic `00 00 08 NDIM` (`08` = unsigned bytes), then `NDIM` u32
//! dimensions, then the data. Images are `NDIM = 3` (count, rows, columns), labels `NDIM = 1`.
//! A file is refused when its magic, dimensions or length disagree; gzip input is inflated
//! with a size cap so a corrupt or hostile file cannot exhaust memory.

use std::fmt;
use std::io::Read;

/// Largest inflated IDX file accepted (Fashion-MNIST's largest is 47 MB).
pub const MAX_INFLATED_BYTES: u64 = 256 << 20;

/// Why bytes are not a valid IDX file of the expected kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdxError {
    /// Gzip data that does not inflate (or inflates past [`MAX_INFLATED_BYTES`]).
    Gzip(String),
    /// Shorter than its header.
    ShortHeader {
        /// Bytes present.
        len: usize,
    },
    /// The magic number is not the one of this kind of file.
    Magic {
        /// Found.
        found: u32,
        /// Expected.
        expected: u32,
    },
    /// A zero dimension, or dimensions whose product overflows.
    Dimensions,
    /// The data is not exactly as long as the header says.
    Length {
        /// Data bytes the header announces.
        expected: u64,
        /// Data bytes present.
        found: u64,
    },
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxError::Gzip(why) => write!(f, "not valid gzip data: {why}"),
            IdxError::ShortHeader { len } => write!(f, "{len} bytes: shorter than an IDX header"),
            IdxError::Magic { found, expected } => {
                write!(f, "magic number {found:#010x}, expected {expected:#010x}")
            }
            IdxError::Dimensions => write!(f, "a zero or oversized dimension in the IDX header"),
            IdxError::Length { expected, found } => write!(
                f,
                "the header announces {expected} data bytes but the file holds {found} (truncated or padded)"
            ),
        }
    }
}

impl std::error::Error for IdxError {}

/// Images of one size, row-major, one byte a pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.pixels.len() / (self.rows * self.cols)
    }
    /// True when there is no image (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }
    /// Rows and columns of every image.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    /// Image `i`, row-major; `None` past the end.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let size = self.rows * self.cols;
        self.pixels
            .get(i.checked_mul(size)?..i.checked_add(1)?.checked_mul(size)?)
    }
}

/// Magic of an unsigned-byte IDX file with `ndim` dimensions.
const fn magic(ndim: u8) -> u32 {
    0x0800 | ndim as u32
}

/// Inflates gzip input (recognised by its `1f 8b` signature); other input is returned as is.
fn inflate(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| IdxError::Gzip(e.to_string()))?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(IdxError::Gzip(format!("inflates past {MAX_INFLATED_BYTES} bytes")));
    }
    Ok(out)
}

/// The dimensions and the data of an IDX file with `ndim` dimensions.
fn parse(bytes: &[u8], ndim: u8) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let data = inflate(bytes)?;
    let header = 4 + 4 * usize::from(ndim);
    let word = |i: usize| -> Option<u32> {
        let b = data.get(i..i + 4)?;
        Some(u32::from_be_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]))
    };
    let found = word(0).ok_or(IdxError::ShortHeader { len: data.len() })?;
    if found != magic(ndim) {
        return Err(IdxError::Magic {
            found,
            expected: magic(ndim),
        });
    }
    let dims: Vec<usize> = (0..usize::from(ndim))
        .map(|d| word(4 + 4 * d).map(|v| v as usize))
        .collect::<Option<_>>()
        .ok_or(IdxError::ShortHeader { len: data.len() })?;
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| if d == 0 { None } else { acc.checked_mul(d) })
        .ok_or(IdxError::Dimensions)?;
    let body = data.get(header..).unwrap_or_default();
    if body.len() != expected {
        return Err(IdxError::Length {
            expected: expected as u64,
            found: body.len() as u64,
        });
    }
    Ok((dims, body.to_vec()))
}

/// Parses an image file (magic `0x00000803`).
pub fn parse_images(bytes: &[u8]) -> Result<Images, IdxError> {
    let (dims, pixels) = parse(bytes, 3)?;
    match dims.as_slice() {
        [_, rows, cols] => Ok(Images {
            rows: *rows,
            cols: *cols,
            pixels,
        }),
        _ => Err(IdxError::Dimensions),
    }
}

/// Parses a label file (magic `0x00000801`).
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    parse(bytes, 1).map(|(_, labels)| labels)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn images_and_labels_parse_plain_and_gzipped() {
        let pixels: Vec<u8> = (0..24).collect();
        let file = idx(0x803, &[2, 3, 4], &pixels);
        for bytes in [file.clone(), gzip(&file)] {
            let images = parse_images(&bytes).unwrap();
            assert_eq!((images.len(), images.shape()), (2, (3, 4)));
            assert_eq!(images.get(1), Some(&pixels[12..]));
            assert_eq!(images.get(2), None);
        }
        assert_eq!(
            parse_labels(&gzip(&idx(0x801, &[3], &[7, 0, 9]))).unwrap(),
            vec![7, 0, 9]
        );
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        let labels = idx(0x801, &[3], &[1, 2, 3]);
        assert_eq!(
            parse_images(&labels),
            Err(IdxError::Magic {
                found: 0x801,
                expected: 0x803
            })
        );
        assert_eq!(parse_labels(&labels[..5]), Err(IdxError::ShortHeader { len: 5 }));
        assert_eq!(
            parse_labels(&labels[..10]),
            Err(IdxError::Length { expected: 3, found: 2 })
        );
        let mut padded = labels.clone();
        padded.push(0);
        assert!(matches!(parse_labels(&padded), Err(IdxError::Length { .. })));
        assert_eq!(parse_images(&idx(0x803, &[1, 0, 4], &[])), Err(IdxError::Dimensions));
        let overflow = idx(0x803, &[u32::MAX, u32::MAX, u32::MAX], &[]);
        assert!(matches!(
            parse_images(&overflow),
            Err(IdxError::Dimensions | IdxError::Length { .. })
        ));
        let mut broken = gzip(&labels);
        let n = broken.len();
        broken.truncate(n - 6);
        assert!(matches!(parse_labels(&broken), Err(IdxError::Gzip(_))));
    }
}
