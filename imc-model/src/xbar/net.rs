//! A quantized network held by the controller for functional runs (issue 6): per-layer
//! geometry, `i8` weights, `i32` biases and requantization, uploaded in chunks, then run
//! sample by sample through the same bit-accurate crossbar model the host uses
//! ([`crate::xbar::QuantizedLayer::accumulate`] and [`crate::xbar::requantize`]).
//!
//! Storage is fixed ([`NET_MAX_WEIGHTS`], [`NET_MAX_BIASES`], [`NET_MAX_LAYERS`]); the
//! digits CNN (38,160 weights, 122 biases, 4 layers) fits. Upload order: [`NetStore::begin`],
//! one [`NetStore::push_layer`] per layer, weights and biases appended in layer order
//! ([`NetStore::push_weights`], [`NetStore::push_biases`]), then [`NetStore::commit`],
//! which checks every tensor with the crossbar model's own constructors.
//!
//! Invariants: a store is runnable only after a successful commit; every index into the
//! fixed buffers is checked at upload, so [`NetStore::classify`] cannot panic, and a failed
//! upload step leaves the store not runnable (never half-updated and runnable).

use serde::{Deserialize, Serialize};

use super::{requantize, ConvGeometry, QuantizedLayer, Requant, WeightMatrix, MAX_FUNCTIONAL_BITS};
use crate::{ArchConfig, ArchParams, Bits};

/// Most layers of a functional network.
pub const NET_MAX_LAYERS: usize = 8;
/// Most weights (all layers).
pub const NET_MAX_WEIGHTS: usize = 40 * 1024;
/// Most biases (all layers).
pub const NET_MAX_BIASES: usize = 256;
/// Most elements of one feature map (input or output of a layer).
pub const NET_MAX_ACTIVATIONS: usize = 1024;
/// Most crossbar rows (`c_in * k_h * k_w`) of one layer.
pub const NET_MAX_ROWS: usize = 1024;
/// Most input elements of one sample.
pub const NET_MAX_INPUT: usize = 64;

/// Why a functional upload step or a sample was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetError {
    /// The arch parameters are invalid.
    Arch,
    /// More layers, weights, biases, rows or activations than the store holds.
    Capacity,
    /// A step out of order (layer after tensors, chunk at the wrong offset, no upload).
    Order,
    /// A layer's geometry is invalid or does not chain to the previous layer.
    Geometry,
    /// A bit width outside `1..=8`, or a requantization that disagrees with the next layer.
    Bits,
    /// A weight outside its symmetric range, or a bad multiplier/shift.
    Values,
    /// Counts at commit differ from what the layers declare.
    Incomplete,
    /// A sample of the wrong length or with codes wider than the first layer's `a_bits`.
    Input,
    /// No committed network.
    NotReady,
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            NetError::Arch => "the network's arch parameters are invalid",
            NetError::Capacity => "more layers, weights, biases, rows or activations than the store holds",
            NetError::Order => "an upload step out of order",
            NetError::Geometry => "a layer's geometry is invalid or does not chain to the previous layer",
            NetError::Bits => "a bit width outside 1..=8, or a requantization that disagrees with the next layer",
            NetError::Values => "a weight outside its symmetric range, or a bad multiplier or shift",
            NetError::Incomplete => "the tensors at commit differ from what the layers declare",
            NetError::Input => "a sample of the wrong length or with codes wider than the first layer's a_bits",
            NetError::NotReady => "no committed network",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NetError {}

/// Requantization of a layer's accumulators to the next layer's activation code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetRequant {
    /// Multiplier in `[2^30, 2^31)` ([`Requant::multiplier`]).
    pub multiplier: u32,
    /// Right shift ([`Requant::shift`]).
    pub shift: u8,
    /// The next layer's `a_bits`.
    pub out_bits: u8,
}

/// One layer as uploaded; FC is the 1x1 case (`ConvGeometry::fc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetLayer {
    /// Input channels, height, width.
    pub input: (u16, u16, u16),
    /// Output channels.
    pub c_out: u16,
    /// Kernel, stride and padding (height, width).
    pub kernel: (u8, u8),
    /// Stride (height, width).
    pub stride: (u8, u8),
    /// Zero padding (height, width).
    pub pad: (u8, u8),
    /// Weight bits.
    pub w_bits: u8,
    /// Input activation bits.
    pub a_bits: u8,
    /// To the next layer; `None` for the last layer (its accumulators are the logits).
    pub requant: Option<NetRequant>,
}

impl NetLayer {
    /// The crossbar model's geometry (always dense: the wire type has no groups).
    pub fn geometry(&self) -> ConvGeometry {
        ConvGeometry {
            c_in: usize::from(self.input.0),
            in_h: usize::from(self.input.1),
            in_w: usize::from(self.input.2),
            c_out: usize::from(self.c_out),
            kernel: (usize::from(self.kernel.0), usize::from(self.kernel.1)),
            stride: (usize::from(self.stride.0), usize::from(self.stride.1)),
            pad: (usize::from(self.pad.0), usize::from(self.pad.1)),
            groups: 1,
        }
    }
    fn weight_count(&self) -> usize {
        self.geometry().rows() * usize::from(self.c_out)
    }
}

/// Digest of a sample's logits (CRC-32/ISO-HDLC of their little-endian `i64` bytes), so
/// host and controller can show they computed the same accumulators, not only the class.
pub fn logits_digest(logits: &[i64]) -> u32 {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    for v in logits {
        digest.update(&v.to_le_bytes());
    }
    digest.finalize()
}

/// Index of the largest logit, the first on ties (as the host's `digits::argmax`).
fn argmax(values: &[i64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if values.get(best).is_some_and(|b| v > b) {
            best = i;
        }
    }
    best
}

/// Working buffers of a forward pass.
pub struct NetScratch {
    act: [u8; NET_MAX_ACTIVATIONS],
    acc: [i64; NET_MAX_ACTIVATIONS],
    patch: [u8; NET_MAX_ROWS],
}

impl NetScratch {
    /// Zeroed buffers.
    pub const fn new() -> NetScratch {
        NetScratch {
            act: [0; NET_MAX_ACTIVATIONS],
            acc: [0; NET_MAX_ACTIVATIONS],
            patch: [0; NET_MAX_ROWS],
        }
    }
}

impl Default for NetScratch {
    fn default() -> Self {
        NetScratch::new()
    }
}

/// The controller's functional network (see the module invariants).
pub struct NetStore {
    arch: ArchConfig,
    expected_layers: usize,
    layers: heapless::Vec<NetLayer, NET_MAX_LAYERS>,
    weights: [i8; NET_MAX_WEIGHTS],
    weights_len: usize,
    biases: [i32; NET_MAX_BIASES],
    biases_len: usize,
    uploading: bool,
    committed: bool,
}

impl Default for NetStore {
    fn default() -> Self {
        NetStore::new()
    }
}

impl NetStore {
    /// An empty store.
    pub const fn new() -> NetStore {
        NetStore {
            arch: ArchConfig::isaac(),
            expected_layers: 0,
            layers: heapless::Vec::new(),
            weights: [0; NET_MAX_WEIGHTS],
            weights_len: 0,
            biases: [0; NET_MAX_BIASES],
            biases_len: 0,
            uploading: false,
            committed: false,
        }
    }

    /// Whether a committed network can classify.
    pub fn is_ready(&self) -> bool {
        self.committed
    }

    /// Starts an upload of `layers` layers for the crossbars of `arch`.
    pub fn begin(&mut self, arch: ArchParams, layers: u8) -> Result<(), NetError> {
        self.committed = false;
        self.uploading = false;
        let arch = ArchConfig::new(arch).map_err(|_| NetError::Arch)?;
        if layers == 0 || usize::from(layers) > NET_MAX_LAYERS {
            return Err(NetError::Capacity);
        }
        self.arch = arch;
        self.expected_layers = usize::from(layers);
        self.layers.clear();
        self.weights_len = 0;
        self.biases_len = 0;
        self.uploading = true;
        Ok(())
    }

    /// Appends a layer's description; all layers come before any tensor.
    pub fn push_layer(&mut self, layer: NetLayer) -> Result<(), NetError> {
        let pushed = match self.check_layer(&layer) {
            Ok(()) => self.layers.push(layer).map_err(|_| NetError::Capacity),
            Err(e) => Err(e),
        };
        self.step(pushed)
    }

    fn check_layer(&self, layer: &NetLayer) -> Result<(), NetError> {
        if !self.uploading || self.weights_len > 0 || self.biases_len > 0 {
            return Err(NetError::Order);
        }
        if self.layers.len() >= self.expected_layers {
            return Err(NetError::Capacity);
        }
        let bits_ok = |b: u8| (1..=MAX_FUNCTIONAL_BITS).contains(&b);
        if !bits_ok(layer.w_bits) || !bits_ok(layer.a_bits) || layer.requant.is_some_and(|r| !bits_ok(r.out_bits)) {
            return Err(NetError::Bits);
        }
        let g = layer.geometry();
        if g.out_h() == 0 || g.out_w() == 0 || g.stride.0 == 0 || g.stride.1 == 0 || g.pad.0 >= g.kernel.0 {
            return Err(NetError::Geometry);
        }
        if g.rows() > NET_MAX_ROWS || g.input_len() > NET_MAX_ACTIVATIONS || g.output_len() > NET_MAX_ACTIVATIONS {
            return Err(NetError::Capacity);
        }
        if let Some(prev) = self.layers.last() {
            if prev.geometry().output_len() != g.input_len() {
                return Err(NetError::Geometry);
            }
            if prev.requant.map(|r| r.out_bits) != Some(layer.a_bits) {
                return Err(NetError::Bits);
            }
        }
        let weights: usize = self.layers.iter().map(NetLayer::weight_count).sum::<usize>() + layer.weight_count();
        let biases: usize = self.layers.iter().map(|l| usize::from(l.c_out)).sum::<usize>() + usize::from(layer.c_out);
        if weights > NET_MAX_WEIGHTS || biases > NET_MAX_BIASES {
            return Err(NetError::Capacity);
        }
        Ok(())
    }

    /// Appends weights at `offset` (must equal the weights received so far).
    pub fn push_weights(&mut self, offset: u32, data: &[i8]) -> Result<(), NetError> {
        let result = self.append(offset, data.len(), self.weights_len, NET_MAX_WEIGHTS);
        if let Ok(range) = result.clone() {
            if let Some(dst) = self.weights.get_mut(range) {
                dst.copy_from_slice(data);
                self.weights_len += data.len();
            }
        }
        self.step(result.map(|_| ()))
    }

    /// Appends biases at `offset` (must equal the biases received so far).
    pub fn push_biases(&mut self, offset: u32, data: &[i32]) -> Result<(), NetError> {
        let result = self.append(offset, data.len(), self.biases_len, NET_MAX_BIASES);
        if let Ok(range) = result.clone() {
            if let Some(dst) = self.biases.get_mut(range) {
                dst.copy_from_slice(data);
                self.biases_len += data.len();
            }
        }
        self.step(result.map(|_| ()))
    }

    fn append(&self, offset: u32, len: usize, have: usize, cap: usize) -> Result<core::ops::Range<usize>, NetError> {
        if !self.uploading || self.layers.len() != self.expected_layers || offset as usize != have {
            return Err(NetError::Order);
        }
        let end = have.checked_add(len).filter(|&e| e <= cap).ok_or(NetError::Capacity)?;
        Ok(have..end)
    }

    /// Checks every tensor with the crossbar model and makes the network runnable.
    pub fn commit(&mut self) -> Result<(), NetError> {
        let result = self.check_complete();
        self.uploading = false;
        self.committed = result.is_ok();
        result
    }

    fn check_complete(&self) -> Result<(), NetError> {
        if !self.uploading {
            return Err(NetError::Order);
        }
        let weights: usize = self.layers.iter().map(NetLayer::weight_count).sum();
        let biases: usize = self.layers.iter().map(|l| usize::from(l.c_out)).sum();
        if self.layers.len() != self.expected_layers || weights != self.weights_len || biases != self.biases_len {
            return Err(NetError::Incomplete);
        }
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            if layer.requant.is_some() == (i == last) {
                return Err(NetError::Bits);
            }
            if let Some(r) = layer.requant {
                Requant::from_parts(r.multiplier, r.shift).map_err(|_| NetError::Values)?;
            }
            let (w, b) = self.tensors(i).ok_or(NetError::Incomplete)?;
            self.layer_view(layer, w, b)?;
        }
        Ok(())
    }

    /// Weights and biases of layer `i`.
    fn tensors(&self, i: usize) -> Option<(&[i8], &[i32])> {
        let before = self.layers.get(..i)?;
        let w0: usize = before.iter().map(NetLayer::weight_count).sum();
        let b0: usize = before.iter().map(|l| usize::from(l.c_out)).sum();
        let layer = self.layers.get(i)?;
        let w = self.weights.get(w0..w0 + layer.weight_count())?;
        let b = self.biases.get(b0..b0 + usize::from(layer.c_out))?;
        Some((w, b))
    }

    fn layer_view<'a>(&self, layer: &NetLayer, w: &'a [i8], b: &'a [i32]) -> Result<QuantizedLayer<'a>, NetError> {
        let g = layer.geometry();
        let bits = Bits::new(layer.w_bits).ok_or(NetError::Bits)?;
        let matrix = WeightMatrix::new(w, g.rows(), g.c_out, bits).map_err(|_| NetError::Values)?;
        QuantizedLayer::new(g, matrix, b).map_err(|_| NetError::Geometry)
    }

    /// Runs one sample (the first layer's input codes); returns the class and
    /// [`logits_digest`] of the last layer's accumulators.
    pub fn classify(&self, input: &[u8], s: &mut NetScratch) -> Result<(u8, u32), NetError> {
        if !self.committed {
            return Err(NetError::NotReady);
        }
        let mut len = input.len();
        s.act.get_mut(..len).ok_or(NetError::Input)?.copy_from_slice(input);
        let mut out_len = 0;
        for (i, layer) in self.layers.iter().enumerate() {
            let (w, b) = self.tensors(i).ok_or(NetError::NotReady)?;
            let view = self.layer_view(layer, w, b)?;
            let g = layer.geometry();
            out_len = g.output_len();
            let a_bits = Bits::new(layer.a_bits).ok_or(NetError::Bits)?;
            let (act, acc) = (s.act.get(..len).ok_or(NetError::Input)?, s.acc.get_mut(..out_len));
            let acc = acc.ok_or(NetError::Capacity)?;
            view.accumulate(&self.arch, act, a_bits, &mut s.patch, acc)
                .map_err(|_| NetError::Input)?;
            if let Some(r) = layer.requant {
                let requant = Requant::from_parts(r.multiplier, r.shift).map_err(|_| NetError::Values)?;
                let out_bits = Bits::new(r.out_bits).ok_or(NetError::Bits)?;
                let next = s.act.get_mut(..out_len).ok_or(NetError::Capacity)?;
                requantize(acc, requant, out_bits, next).map_err(|_| NetError::Values)?;
            }
            len = out_len;
        }
        let logits = s.acc.get(..out_len).ok_or(NetError::Capacity)?;
        Ok((argmax(logits) as u8, logits_digest(logits)))
    }

    /// Abandons the upload on an error (the store is then not runnable).
    fn step(&mut self, result: Result<(), NetError>) -> Result<(), NetError> {
        if result.is_err() {
            self.uploading = false;
            self.committed = false;
        }
        result
    }
}

#[cfg(test)]
#[path = "net_tests.rs"]
mod tests;
