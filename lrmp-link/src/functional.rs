//! Functional runs on the controller (issue 6): the quantized digits network is shipped to
//! the firmware, every held-out sample is classified there, and each answer (class and
//! logits digest) is compared bit for bit with the host's own forward pass
//! ([`QuantizedDigits::classify`], the same crossbar model).
//!
//! Invariants: the network shipped is exactly the host's quantized model (tensors come from
//! [`QuantizedDigits::layer_tensors`], inputs from [`QuantizedDigits::input_codes`]); the
//! network is checked against the controller's capacity before anything is sent.

use std::fmt;
use std::io::{Read, Write};

use imc_model::wire::{self, Capabilities, Classification, Reply, Request, NET_BIASES_CHUNK, NET_WEIGHTS_CHUNK};
use imc_model::xbar::net::{logits_digest, NetLayer, NetRequant, NET_MAX_WEIGHTS};
use imc_model::{ArchConfig, ArchParams};

use crate::client::{unexpected, Client, LinkError};
use lrmp_trained::digits::model::DigitsModel;
use lrmp_trained::digits::quant::{QuantError, QuantizedDigits, Scratch};
use lrmp_trained::digits::LAYERS;

/// A quantized network in the form the controller stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionalNet {
    /// Crossbar parameters of the functional model.
    pub arch: ArchParams,
    /// Layer descriptions.
    pub layers: Vec<NetLayer>,
    /// All weights, layer after layer.
    pub weights: Vec<i8>,
    /// All biases, layer after layer.
    pub biases: Vec<i32>,
}

/// Why a functional check failed to run (a mismatch is a result, not an error).
#[derive(Debug)]
pub enum FunctionalError {
    /// The host could not quantize or run the network.
    Quant(QuantError),
    /// A layer dimension does not fit the wire's field.
    Shape(&'static str),
    /// The link failed or the controller refused.
    Link(LinkError),
}

impl fmt::Display for FunctionalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FunctionalError::Quant(e) => write!(f, "quantizing the digits network: {e}"),
            FunctionalError::Shape(layer) => write!(f, "layer `{layer}` does not fit the wire format"),
            FunctionalError::Link(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FunctionalError {}

impl From<LinkError> for FunctionalError {
    fn from(e: LinkError) -> Self {
        FunctionalError::Link(e)
    }
}

/// The digits network quantized as `q`, for the crossbars of `arch`.
pub fn digits_net(arch: &ArchConfig, q: &QuantizedDigits) -> Result<FunctionalNet, FunctionalError> {
    let mut net = FunctionalNet {
        arch: *arch.params(),
        layers: Vec::new(),
        weights: Vec::new(),
        biases: Vec::new(),
    };
    for (spec, t) in LAYERS.iter().zip(q.layer_tensors()) {
        let g = spec.geometry;
        let small = |v: usize| u16::try_from(v).map_err(|_| FunctionalError::Shape(spec.name));
        let tiny = |v: usize| u8::try_from(v).map_err(|_| FunctionalError::Shape(spec.name));
        net.layers.push(NetLayer {
            input: (small(g.c_in)?, small(g.in_h)?, small(g.in_w)?),
            c_out: small(g.c_out)?,
            kernel: (tiny(g.kernel.0)?, tiny(g.kernel.1)?),
            stride: (tiny(g.stride.0)?, tiny(g.stride.1)?),
            pad: (tiny(g.pad.0)?, tiny(g.pad.1)?),
            w_bits: t.precision.w_bits.get(),
            a_bits: t.precision.a_bits.get(),
            requant: t.requant.map(|(r, next)| NetRequant {
                multiplier: r.multiplier(),
                shift: r.shift(),
                out_bits: next.a_bits.get(),
            }),
        });
        net.weights.extend_from_slice(t.weights);
        net.biases.extend_from_slice(t.bias);
    }
    Ok(net)
}

/// Per-sample comparison of the controller with the host over the held-out split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FunctionalCheck {
    /// Samples classified on the controller.
    pub samples: usize,
    /// Samples whose class and logits digest equal the host's.
    pub matches: usize,
    /// The controller's accuracy (its classes against the labels), 0..1.
    pub accuracy: f64,
    /// The host's accuracy on the same samples, 0..1.
    pub host_accuracy: f64,
    /// Mean controller cost of one forward pass, in the capabilities' counter unit.
    pub controller_cost_per_sample: f64,
}

impl<T: Read + Write> Client<T> {
    /// Uploads `net` and makes it runnable, after checking it fits the controller.
    pub fn upload_net(&mut self, net: &FunctionalNet, caps: &Capabilities) -> Result<(), LinkError> {
        let have = u64::from(caps.net_max_weights).min(NET_MAX_WEIGHTS as u64);
        if net.weights.len() as u64 > have {
            return Err(LinkError::Capacity {
                what: "network weights",
                need: net.weights.len() as u64,
                have,
            });
        }
        let layers = u8::try_from(net.layers.len()).map_err(|_| LinkError::Capacity {
            what: "network layers",
            need: net.layers.len() as u64,
            have: u64::from(u8::MAX),
        })?;
        self.expect_ack(&Request::NetBegin { arch: net.arch, layers })?;
        for layer in &net.layers {
            self.expect_ack(&Request::NetLayer(*layer))?;
        }
        for (i, chunk) in net.weights.chunks(NET_WEIGHTS_CHUNK).enumerate() {
            // Chunks never exceed the message's capacity; offsets stay below the checked total.
            let data = wire::heapless::Vec::from_slice(chunk).map_err(|_| LinkError::NoReply)?;
            let offset = (i * NET_WEIGHTS_CHUNK) as u32;
            self.expect_ack(&Request::NetWeights { offset, data })?;
        }
        for (i, chunk) in net.biases.chunks(NET_BIASES_CHUNK).enumerate() {
            let data = wire::heapless::Vec::from_slice(chunk).map_err(|_| LinkError::NoReply)?;
            let offset = (i * NET_BIASES_CHUNK) as u32;
            self.expect_ack(&Request::NetBiases { offset, data })?;
        }
        self.expect_ack(&Request::NetCommit)
    }

    /// Classifies one sample (the first layer's input codes) on the controller.
    pub fn classify(&mut self, input: &[u8]) -> Result<Classification, LinkError> {
        let input = wire::heapless::Vec::from_slice(input).map_err(|_| LinkError::Capacity {
            what: "input codes per sample",
            need: input.len() as u64,
            have: imc_model::xbar::net::NET_MAX_INPUT as u64,
        })?;
        match self.request(&Request::Classify { input })? {
            Reply::Classified(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }
}

/// Quantizes the digits network at `precisions`, ships it, classifies every held-out
/// sample on the controller and compares each class and logits digest with the host.
pub fn check_digits<T: Read + Write>(
    client: &mut Client<T>,
    caps: &Capabilities,
    arch: &ArchConfig,
    model: &DigitsModel,
    precisions: &[imc_model::Precision],
) -> Result<FunctionalCheck, FunctionalError> {
    let q = QuantizedDigits::new(model.weights(), model.clips(), precisions).map_err(FunctionalError::Quant)?;
    client.upload_net(&digits_net(arch, &q)?, caps)?;
    let mut scratch = Scratch::default();
    let (mut samples, mut matches, mut correct, mut host_correct, mut cost) = (0usize, 0usize, 0usize, 0usize, 0u64);
    for sample in model.split().test.iter().filter_map(|&i| model.data().samples.get(i)) {
        let (host_class, _) = q
            .classify(arch, &sample.pixels, &mut scratch)
            .map_err(FunctionalError::Quant)?;
        let host_digest = logits_digest(scratch.logits());
        let input: Vec<u8> = q.input_codes(&sample.pixels).collect();
        let device = client.classify(&input)?;
        samples += 1;
        cost = cost.saturating_add(device.controller_cost);
        if usize::from(device.class) == host_class && device.logits_digest == host_digest {
            matches += 1;
        }
        correct += usize::from(device.class == sample.label);
        host_correct += usize::from(host_class == usize::from(sample.label));
    }
    let fraction = |n: usize| n as f64 / samples.max(1) as f64;
    Ok(FunctionalCheck {
        samples,
        matches,
        accuracy: fraction(correct),
        host_accuracy: fraction(host_correct),
        controller_cost_per_sample: cost as f64 / samples.max(1) as f64,
    })
}
