//! Plan files: what `lrmp plan --out` / `lrmp search --out` write and `lrmp run` ships.
//!
//! A plan file is postcard bytes of [`PlanFile`], whose first field is the format version.
//! It holds the source of the mapping (architecture, per-layer shape, precision and
//! replication), not derived numbers: [`PlanFile::validate`] rebuilds the model totals and
//! the controller's [`Plan`] from it through `imc-model`, so a tampered or stale file cannot
//! disagree with the cost model.
//!
//! Invariants: [`read`] returns only files of this format version that decode completely;
//! [`ValidPlan`] exists only for a mapping the cost model accepts and the controller can hold.

use std::fmt;
use std::path::Path;

use imc_model::cost::{totals, LayerCost};
use imc_model::physical::{self, floors, PhysLayer, PhysicalConfig, PhysicalParams};
use imc_model::runtime::{Plan, PlanError};
use imc_model::{ArchConfig, ArchParams, Cycles, LayerDims, LayerShape, Precision, Totals};
use serde::{Deserialize, Serialize};

use lrmp_network::Network;

/// Version of the plan-file layout; bumped on any change (2: the physical model's
/// parameters and each layer's vertical stride).
pub const PLAN_FILE_VERSION: u16 = 2;

/// The mapping of one network onto one architecture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFile {
    /// [`PLAN_FILE_VERSION`] when written.
    pub format_version: u16,
    /// Network name (reports).
    pub network: String,
    /// Hardware parameters.
    pub arch: ArchParams,
    /// The physical model's parameters (DESIGN 9.1), `None` for section 3 alone.
    pub physical: Option<PhysicalParams>,
    /// Mappable layers in execution order.
    pub layers: Vec<PlanFileLayer>,
}

/// One layer of a plan file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFileLayer {
    /// Layer name.
    pub name: String,
    /// Dimensions.
    pub dims: LayerDims,
    /// Weight and activation bits.
    pub precision: Precision,
    /// Replication factor.
    pub replication: u64,
    /// Vertical stride `s_h` (the physical model's halo).
    pub stride_h: u32,
}

/// Why a plan file could not be built, read or used.
#[derive(Debug)]
pub enum PlanFileError {
    /// Reading or writing the file failed.
    Io(std::io::Error),
    /// The bytes are not a plan file (or are truncated, or have trailing bytes).
    Decode(String),
    /// Written by another format version.
    Version(u16),
    /// Per-layer inputs of different lengths.
    Lengths {
        /// Layers in the network.
        layers: usize,
        /// Precisions given.
        precisions: usize,
        /// Replication factors given.
        replication: usize,
    },
    /// A field the model refuses; names the layer (or `arch`).
    Invalid {
        /// Layer name or `arch`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// The controller could not hold or run the plan.
    Plan(PlanError),
}

impl fmt::Display for PlanFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanFileError::Io(e) => write!(f, "{e}"),
            PlanFileError::Decode(m) => write!(f, "not a valid lrmp plan file: {m}"),
            PlanFileError::Version(v) => {
                write!(
                    f,
                    "plan file format version {v}, but this lrmp reads version {PLAN_FILE_VERSION} \
                     (a plan from another lrmp version, or not a plan file)"
                )
            }
            PlanFileError::Lengths {
                layers,
                precisions,
                replication,
            } => write!(
                f,
                "{layers} layers but {precisions} precisions and {replication} replication factors"
            ),
            PlanFileError::Invalid { at, message } => write!(f, "{at}: {message}"),
            PlanFileError::Plan(e) => write!(f, "the controller cannot hold this plan: {}", e.reason()),
        }
    }
}

impl std::error::Error for PlanFileError {}

/// A plan file checked against the cost model and the controller's capacities.
#[derive(Clone, Debug)]
pub struct ValidPlan {
    /// Validated architecture.
    pub arch: ArchConfig,
    /// Model latency, interval and area.
    pub totals: Totals,
    /// What the controller runs.
    pub runtime: Plan,
}

/// Builds a plan file for the cost model of DESIGN section 3 alone (preset `ideal`).
pub fn build(
    arch: &ArchConfig,
    network: &Network,
    precisions: &[Precision],
    replication: &[u64],
) -> Result<PlanFile, PlanFileError> {
    build_with(arch, None, network, precisions, replication)
}

/// Builds a plan file from a network, per-layer precisions and per-layer replication, under
/// the physical model when `physical` is given.
pub fn build_with(
    arch: &ArchConfig,
    physical: Option<&PhysicalConfig>,
    network: &Network,
    precisions: &[Precision],
    replication: &[u64],
) -> Result<PlanFile, PlanFileError> {
    let n = network.layers.len();
    if precisions.len() != n || replication.len() != n {
        return Err(PlanFileError::Lengths {
            layers: n,
            precisions: precisions.len(),
            replication: replication.len(),
        });
    }
    let layers = network
        .layers
        .iter()
        .zip(precisions)
        .zip(replication)
        .map(|((l, &precision), &replication)| PlanFileLayer {
            name: l.name.clone(),
            dims: *l.shape.dims(),
            precision,
            replication,
            stride_h: l.stride.0,
        })
        .collect();
    let file = PlanFile {
        format_version: PLAN_FILE_VERSION,
        network: network.name.clone(),
        arch: *arch.params(),
        physical: physical.map(|p| *p.params()),
        layers,
    };
    file.validate()?;
    Ok(file)
}

/// Writes `plan` to `path`.
pub fn write(plan: &PlanFile, path: &Path) -> Result<(), PlanFileError> {
    std::fs::write(path, plan.to_bytes()?).map_err(PlanFileError::Io)
}

/// Reads and decodes the plan file at `path` (call [`PlanFile::validate`] to use it).
pub fn read(path: &Path) -> Result<PlanFile, PlanFileError> {
    PlanFile::from_bytes(&std::fs::read(path).map_err(PlanFileError::Io)?)
}

impl PlanFile {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PlanFileError> {
        postcard::to_allocvec(self).map_err(|e| PlanFileError::Decode(e.to_string()))
    }

    /// Decodes bytes, refusing other versions, truncation and trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<PlanFile, PlanFileError> {
        let (version, _) = postcard::take_from_bytes::<u16>(bytes).map_err(|e| PlanFileError::Decode(e.to_string()))?;
        if version != PLAN_FILE_VERSION {
            return Err(PlanFileError::Version(version));
        }
        match postcard::take_from_bytes::<PlanFile>(bytes) {
            Ok((file, [])) => Ok(file),
            Ok((_, rest)) => Err(PlanFileError::Decode(format!("{} trailing bytes", rest.len()))),
            Err(e) => Err(PlanFileError::Decode(e.to_string())),
        }
    }

    /// Checks the mapping against the cost model and the controller's capacities.
    pub fn validate(&self) -> Result<ValidPlan, PlanFileError> {
        let invalid = |at: &str, message: String| PlanFileError::Invalid {
            at: at.to_string(),
            message,
        };
        let arch = ArchConfig::new(self.arch).map_err(|e| invalid("arch", e.to_string()))?;
        let mut shapes = Vec::with_capacity(self.layers.len());
        let mut costs = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let shape = LayerShape::new(l.dims).map_err(|e| invalid(&l.name, e.to_string()))?;
            costs.push(LayerCost::new(&arch, &shape, l.precision).map_err(|e| invalid(&l.name, e.to_string()))?);
            shapes.push(shape);
        }
        let replication: Vec<u64> = self.layers.iter().map(|l| l.replication).collect();
        let layer_name = |layer: usize| self.layers.get(layer).map_or("?", |l| l.name.as_str());
        let ideal = totals(&arch, &costs, &replication).map_err(|e| match e {
            imc_model::CostError::Replication { layer, .. } => invalid(layer_name(layer), e.to_string()),
            other => invalid(&self.network, other.to_string()),
        })?;
        // Under the physical model the floors travel in the plan, so the controller's
        // layer-mode timing equals this model's L and I.
        let (totals, floors, chip_floor) = match self.physical {
            None => (ideal, vec![Cycles::ZERO; shapes.len()], Cycles::ZERO),
            Some(params) => {
                let phys = PhysicalConfig::new(params).map_err(|e| invalid("physical", e.to_string()))?;
                let precisions: Vec<Precision> = self.layers.iter().map(|l| l.precision).collect();
                let chain = shapes.iter().zip(&self.layers).map(|(s, l)| (*s, l.stride_h));
                let layers: Vec<PhysLayer> = floors::chain(chain, &precisions).collect();
                let physical_error = |e: physical::PhysicalError| match e {
                    physical::PhysicalError::Buffer { layer, .. }
                    | physical::PhysicalError::Replication { layer, .. }
                    | physical::PhysicalError::Stride { layer } => invalid(layer_name(layer), e.to_string()),
                    other => invalid(&self.network, other.to_string()),
                };
                let chip = physical::chip_timing(&arch, &phys, &layers, &replication).map_err(physical_error)?;
                let layer_floors = layers
                    .iter()
                    .zip(&replication)
                    .enumerate()
                    .map(|(i, (l, &r))| {
                        physical::layer_timing(&arch, &phys, l, i, r)
                            .map(|t| t.ingress_cycles.max(t.egress_cycles))
                            .map_err(physical_error)
                    })
                    .collect::<Result<Vec<Cycles>, _>>()?;
                (chip.totals(ideal.area), layer_floors, chip.io_cycles)
            }
        };
        let source = shapes
            .iter()
            .zip(&self.layers)
            .zip(&floors)
            .map(|((s, l), &floor)| (s, l.precision, l.replication, floor));
        let runtime = Plan::from_model_with_floors(&arch, source, chip_floor).map_err(|e| match e.layer() {
            Some(i) => invalid(
                layer_name(usize::from(i)),
                format!("the controller cannot hold this layer: {}", e.reason()),
            ),
            None => PlanFileError::Plan(e),
        })?;
        Ok(ValidPlan { arch, totals, runtime })
    }
}
