//! Fashion-MNIST (Zalando Research, MIT licence): 60,000 training and 10,000 test images of
//! 28x28 pixels in 10 classes, read from the four IDX files the Debian package
//! `dataset-fashion-mnist` installs.
//!
//! Where: the directory given, else the environment variable [`DIR_VARIABLE`], else
//! [`DEFAULT_DIR`]. Each file may be gzip-compressed (`*.gz`, as packaged) or not. The
//! search never sees the test images: [`FashionMnist::validation_split`] draws a fixed,
//! seeded validation set from the training images.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::idx::{self, IdxError, Images};

/// Where the Debian package installs the files.
pub const DEFAULT_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Environment variable naming another directory.
pub const DIR_VARIABLE: &str = "LRMP_FASHION_MNIST_DIR";
/// The Debian package that provides the files.
pub const PACKAGE: &str = "dataset-fashion-mnist";
/// Image side in pixels.
pub const SIDE: usize = 28;
/// Classes.
pub const CLASSES: u8 = 10;
/// Training images.
pub const TRAIN: usize = 60_000;
/// Test images.
pub const TEST: usize = 10_000;
/// Seed of the validation split.
pub const VALIDATION_SEED: u64 = 0xFA51_0000_0001;

/// One half of the data set: images and their labels, checked to agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    /// 28x28 images.
    pub images: Images,
    /// One label `0..10` per image.
    pub labels: Vec<u8>,
}

/// The whole data set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FashionMnist {
    /// 60,000 training images.
    pub train: Labelled,
    /// 10,000 test images (reported accuracy only).
    pub test: Labelled,
}

/// Why the data set could not be loaded; names the file.
#[derive(Debug)]
pub struct DataError {
    /// The file at fault.
    pub file: PathBuf,
    /// What is wrong with it.
    pub problem: DataProblem,
}

/// What is wrong with a data file.
#[derive(Debug)]
pub enum DataProblem {
    /// Neither the file nor its `.gz` form exists.
    Missing,
    /// It could not be read.
    Io(std::io::Error),
    /// Not a valid IDX file.
    Idx(IdxError),
    /// Valid IDX, but not what Fashion-MNIST holds.
    Content(String),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.problem {
            DataProblem::Missing => write!(
                f,
                "{file}: not found (install the Debian package `{PACKAGE}`, or point `--data-dir` or \
                 {DIR_VARIABLE} at a directory holding the four Fashion-MNIST IDX files)"
            ),
            DataProblem::Io(e) => write!(f, "{file}: cannot read: {e}"),
            DataProblem::Idx(e) => write!(f, "{file}: {e} (a corrupt copy? reinstall `{PACKAGE}`)"),
            DataProblem::Content(why) => write!(f, "{file}: {why}"),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            DataProblem::Io(e) => Some(e),
            DataProblem::Idx(e) => Some(e),
            _ => None,
        }
    }
}

/// The directory to read: `dir`, else [`DIR_VARIABLE`], else [`DEFAULT_DIR`].
pub fn data_dir(dir: Option<&Path>) -> PathBuf {
    match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::var_os(DIR_VARIABLE).map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from),
    }
}

/// Reads `dir/stem.gz`, else `dir/stem`.
fn read(dir: &Path, stem: &str) -> Result<(PathBuf, Vec<u8>), DataError> {
    let gz = dir.join(format!("{stem}.gz"));
    let plain = dir.join(stem);
    let path = if gz.exists() {
        gz
    } else if plain.exists() {
        plain
    } else {
        return Err(DataError {
            file: gz,
            problem: DataProblem::Missing,
        });
    };
    match std::fs::read(&path) {
        Ok(bytes) => Ok((path, bytes)),
        Err(e) => Err(DataError {
            file: path,
            problem: DataProblem::Io(e),
        }),
    }
}

/// Loads one half (`train` or `t10k`), checking shape, count and labels.
fn half(dir: &Path, prefix: &str, count: usize) -> Result<Labelled, DataError> {
    let (image_path, bytes) = read(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let images = idx::parse_images(&bytes).map_err(|e| DataError {
        file: image_path.clone(),
        problem: DataProblem::Idx(e),
    })?;
    let content = |file: &Path, why: String| DataError {
        file: file.to_path_buf(),
        problem: DataProblem::Content(why),
    };
    if images.shape() != (SIDE, SIDE) || images.len() != count {
        let (rows, cols) = images.shape();
        return Err(content(
            &image_path,
            format!(
                "{} images of {rows}x{cols}, expected {count} of {SIDE}x{SIDE}",
                images.len()
            ),
        ));
    }
    let (label_path, bytes) = read(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let labels = idx::parse_labels(&bytes).map_err(|e| DataError {
        file: label_path.clone(),
        problem: DataProblem::Idx(e),
    })?;
    if labels.len() != count {
        return Err(content(
            &label_path,
            format!("{} labels, expected {count}", labels.len()),
        ));
    }
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, &l)| l >= CLASSES) {
        return Err(content(
            &label_path,
            format!("label {l} of image {i} is not a class 0..{CLASSES}"),
        ));
    }
    Ok(Labelled { images, labels })
}

impl FashionMnist {
    /// Loads and validates the four files from [`data_dir`]`(dir)`.
    pub fn load(dir: Option<&Path>) -> Result<FashionMnist, DataError> {
        let dir = data_dir(dir);
        Ok(FashionMnist {
            train: half(&dir, "train", TRAIN)?,
            test: half(&dir, "t10k", TEST)?,
        })
    }

    /// The fixed validation split: `size` training-image indices drawn without replacement
    /// by a seeded shuffle ([`VALIDATION_SEED`]), sorted; the search measures accuracy on
    /// these, never on the test images.
    pub fn validation_split(&self, size: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.train.labels.len()).collect();
        let mut state = VALIDATION_SEED;
        for i in (1..order.len()).rev() {
            // SplitMix64, as the digits split uses.
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            order.swap(i, (z % (i as u64 + 1)) as usize);
        }
        order.truncate(size.min(order.len()));
        order.sort_unstable();
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_names_the_file_and_the_package() {
        let dir = std::env::temp_dir().join("lrmp-no-fashion-here");
        let e = FashionMnist::load(Some(&dir)).unwrap_err();
        assert!(matches!(e.problem, DataProblem::Missing));
        let text = e.to_string();
        assert!(
            text.contains("train-images-idx3-ubyte.gz") && text.contains(PACKAGE),
            "{text}"
        );
    }

    #[test]
    fn wrong_content_is_refused_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("lrmp-fashion-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A valid IDX file of the wrong size, uncompressed.
        let mut images = 0x803u32.to_be_bytes().to_vec();
        for d in [1u32, 2, 2] {
            images.extend_from_slice(&d.to_be_bytes());
        }
        images.extend_from_slice(&[0; 4]);
        std::fs::write(dir.join("train-images-idx3-ubyte"), &images).unwrap();
        let e = FashionMnist::load(Some(&dir)).unwrap_err();
        assert!(
            e.to_string().contains("1 images of 2x2, expected 60000 of 28x28"),
            "{e}"
        );
        // Garbage where a gzip file should be.
        std::fs::write(dir.join("train-images-idx3-ubyte.gz"), [0x1f, 0x8b, 1, 2, 3]).unwrap();
        let e = FashionMnist::load(Some(&dir)).unwrap_err();
        assert!(matches!(e.problem, DataProblem::Idx(IdxError::Gzip(_))), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The real package, when installed (the test command installs it): every file valid,
    /// every class present, the validation split fixed.
    #[test]
    fn the_installed_package_loads() {
        let dir = data_dir(None);
        if !dir.join("train-images-idx3-ubyte.gz").exists() && std::env::var_os("CI").is_none() {
            eprintln!("{} not installed; skipped", PACKAGE);
            return;
        }
        let data = FashionMnist::load(None).unwrap();
        assert_eq!((data.train.images.len(), data.test.images.len()), (TRAIN, TEST));
        for half in [&data.train, &data.test] {
            let mut seen = [0usize; CLASSES as usize];
            for &l in &half.labels {
                seen[usize::from(l)] += 1;
            }
            // Fashion-MNIST is balanced: 6,000 and 1,000 of each class.
            assert!(seen.iter().all(|&n| n == half.labels.len() / 10), "{seen:?}");
        }
        let split = data.validation_split(5000);
        assert_eq!(split.len(), 5000);
        assert!(split.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(split, data.validation_split(5000));
    }
}
