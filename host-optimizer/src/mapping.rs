//! A mapping of a network onto the chip: per-layer costs at chosen precisions, the 8/8
//! baseline, and the area budget. Every number is computed by `imc_model::cost`.

use std::fmt;

use imc_model::cost::{self, CostError, LayerCost, Totals};
use imc_model::physical::floors;
use imc_model::physical::PhysLayer;
use imc_model::{ArchConfig, Crossbars, Precision};

use crate::network::Network;

/// A mapping that cannot be costed; names the layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingError {
    /// The layer at fault, when one is.
    pub layer: Option<String>,
    /// The underlying model error.
    pub error: CostError,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.layer {
            Some(layer) => write!(f, "layer `{layer}`: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

impl std::error::Error for MappingError {}

/// Costs of every layer at its precision (`precisions[l]` for layer `l`).
pub fn layer_costs(
    arch: &ArchConfig,
    network: &Network,
    precisions: &[Precision],
) -> Result<Vec<LayerCost>, MappingError> {
    if precisions.len() != network.layers.len() {
        return Err(MappingError {
            layer: None,
            error: CostError::LengthMismatch,
        });
    }
    network
        .layers
        .iter()
        .zip(precisions)
        .map(|(layer, &p)| {
            LayerCost::new(arch, &layer.shape, p).map_err(|error| MappingError {
                layer: Some(layer.name.clone()),
                error,
            })
        })
        .collect()
}

/// Costs at the 8/8 baseline precision.
pub fn baseline_costs(arch: &ArchConfig, network: &Network) -> Result<Vec<LayerCost>, MappingError> {
    layer_costs(arch, network, &vec![Precision::BASELINE; network.layers.len()])
}

/// Totals with every layer unreplicated.
pub fn unreplicated(arch: &ArchConfig, costs: &[LayerCost]) -> Result<Totals, MappingError> {
    cost::totals(arch, costs, &vec![1; costs.len()]).map_err(|error| MappingError { layer: None, error })
}

/// Totals for a replication vector, naming the layer on error.
pub fn totals(
    arch: &ArchConfig,
    network: &Network,
    costs: &[LayerCost],
    replication: &[u64],
) -> Result<Totals, MappingError> {
    cost::totals(arch, costs, replication).map_err(|error| {
        let layer = match error {
            CostError::Replication { layer, .. } => network.layers.get(layer).map(|l| l.name.clone()),
            _ => None,
        };
        MappingError { layer, error }
    })
}

/// Every layer as the physical model sees it (DESIGN section 9.3): its shape at its
/// precision, the activation bits of the next layer (`b_out,l`, 8 after the last) and its
/// vertical stride. `precisions` has one entry per layer (the caller checked).
pub fn phys_layers(network: &Network, precisions: &[Precision]) -> Vec<PhysLayer> {
    floors::chain(network.layers.iter().map(|l| (l.shape, l.stride.0)), precisions).collect()
}

/// Area budget `floor(factor * baseline_area)` (DESIGN section 3).
pub fn budget(baseline_area: Crossbars, area_factor: f64) -> Crossbars {
    // Exact for any area below 2^52 crossbars, which every validated network is.
    Crossbars::new((area_factor * baseline_area.get() as f64).floor() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_floors() {
        assert_eq!(budget(Crossbars::new(1001), 1.5), Crossbars::new(1501));
        assert_eq!(budget(Crossbars::new(1000), 1.0), Crossbars::new(1000));
        assert_eq!(budget(Crossbars::new(3), 0.5), Crossbars::new(1));
    }
}
