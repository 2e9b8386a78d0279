//! Functional runs on the controller (issue 6): a quantized trained network is shipped to
//! the firmware, test images are classified there, and each answer (class and logits
//! digest) is compared bit for bit with the host's own forward pass
//! ([`QuantizedGraph::classify`], the same crossbar model).
//!
//! The controller's store ([`imc_model::xbar::net`]) runs chains of dense layers of fixed
//! capacity: the digits network fits; a network with residual adds, pooling, grouped layers
//! or more weights than the store holds is refused before anything is sent, with what it
//! would need ([`FunctionalError::DoesNotFit`]).
//!
//! Invariants: the network shipped is exactly the host's quantized model (tensors come from
//! [`QuantizedGraph::layer_tensors`], inputs from [`QuantizedGraph::input_codes`]); the
//! network is checked against the controller's capacity before anything is sent.

use std::fmt;
use std::io::{Read, Write};

use imc_model::wire::{self, Capabilities, Classification, Reply, Request, NET_BIASES_CHUNK, NET_WEIGHTS_CHUNK};
use imc_model::xbar::net::{logits_digest, NetLayer, NetRequant, NET_MAX_WEIGHTS};
use imc_model::{ArchConfig, ArchParams};

use crate::client::{unexpected, Client, LinkError};
use lrmp_trained::graph::model::{Set, TrainedModel};
use lrmp_trained::graph::quant::{QuantError, QuantizedGraph, Scratch};
use lrmp_trained::graph::{GraphSpec, Op};

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
    /// The network is not a chain of dense layers the controller's store can run.
    DoesNotFit(String),
    /// The link failed or the controller refused.
    Link(LinkError),
}

impl fmt::Display for FunctionalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FunctionalError::Quant(e) => write!(f, "quantizing the network: {e}"),
            FunctionalError::DoesNotFit(why) => write!(f, "the controller cannot run this network: {why}"),
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

/// Checks that `spec` is a chain of dense layers the controller's store can hold.
pub fn fits_controller(spec: &GraphSpec) -> Result<(), FunctionalError> {
    use imc_model::xbar::net::{NET_MAX_ACTIVATIONS, NET_MAX_LAYERS};
    let mut needs = Vec::new();
    if spec.nodes.iter().any(|n| matches!(n.op, Op::Add { .. })) {
        needs.push("residual adds".to_string());
    }
    if spec
        .nodes
        .iter()
        .any(|n| matches!(n.op, Op::MaxPool { .. } | Op::GlobalAvgPool))
    {
        needs.push("pooling".to_string());
    }
    if spec.layers().any(|(.., g, _)| g.groups != 1) {
        needs.push("grouped convolution".to_string());
    }
    if spec.nodes.iter().enumerate().any(|(i, n)| n.input != i) {
        needs.push("branches (a layer reading other than the previous node)".to_string());
    }
    let weights: usize = spec.layers().map(|(.., g, _)| g.rows() * g.c_out).sum();
    if weights > NET_MAX_WEIGHTS {
        needs.push(format!("{weights} weights (the store holds {NET_MAX_WEIGHTS})"));
    }
    let widest = spec
        .layers()
        .map(|(.., g, _)| g.input_len().max(g.output_len()))
        .max()
        .unwrap_or(0);
    if widest > NET_MAX_ACTIVATIONS {
        needs.push(format!(
            "feature maps of {widest} values (the store holds {NET_MAX_ACTIVATIONS})"
        ));
    }
    if spec.layer_count() > NET_MAX_LAYERS {
        needs.push(format!(
            "{} layers (the store holds {NET_MAX_LAYERS})",
            spec.layer_count()
        ));
    }
    if needs.is_empty() {
        Ok(())
    } else {
        Err(FunctionalError::DoesNotFit(format!(
            "`{}` needs {}",
            spec.name,
            needs.join(", ")
        )))
    }
}

/// The network `spec` quantized as `q`, for the crossbars of `arch`.
pub fn functional_net(
    spec: &GraphSpec,
    arch: &ArchConfig,
    q: &QuantizedGraph,
) -> Result<FunctionalNet, FunctionalError> {
    fits_controller(spec)?;
    let mut net = FunctionalNet {
        arch: *arch.params(),
        layers: Vec::new(),
        weights: Vec::new(),
        biases: Vec::new(),
    };
    for ((.., g, _), t) in spec.layers().zip(q.layer_tensors()) {
        let small = |v: usize| u16::try_from(v).map_err(|_| FunctionalError::Shape(t.name));
        let tiny = |v: usize| u8::try_from(v).map_err(|_| FunctionalError::Shape(t.name));
        net.layers.push(NetLayer {
            input: (small(g.c_in)?, small(g.in_h)?, small(g.in_w)?),
            c_out: small(g.c_out)?,
            kernel: (tiny(g.kernel.0)?, tiny(g.kernel.1)?),
            stride: (tiny(g.stride.0)?, tiny(g.stride.1)?),
            pad: (tiny(g.pad.0)?, tiny(g.pad.1)?),
            w_bits: t.precision.w_bits.get(),
            a_bits: t.precision.a_bits.get(),
            requant: t.requant.map(|(r, bits)| NetRequant {
                multiplier: r.multiplier(),
                shift: r.shift(),
                out_bits: bits.get(),
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

/// Quantizes a trained network at `precisions`, ships it, classifies its test images
/// (at most `limit`) on the controller and compares each class and logits digest with the
/// host.
pub fn check_network<T: Read + Write>(
    client: &mut Client<T>,
    caps: &Capabilities,
    arch: &ArchConfig,
    model: &TrainedModel,
    precisions: &[imc_model::Precision],
    limit: usize,
) -> Result<FunctionalCheck, FunctionalError> {
    fits_controller(model.spec())?;
    let q = model.quantize(arch, precisions).map_err(FunctionalError::Quant)?;
    client.upload_net(&functional_net(model.spec(), arch, &q)?, caps)?;
    let mut scratch = Scratch::default();
    let (mut samples, mut matches, mut correct, mut host_correct, mut cost) = (0usize, 0usize, 0usize, 0usize, 0u64);
    let (images, indices) = model.images(Set::Test);
    for (image, label) in indices
        .iter()
        .take(limit)
        .filter_map(|&i| Some((images.image(i)?, images.label(i)?)))
    {
        let (host_class, _) = q.classify(image, &mut scratch).map_err(FunctionalError::Quant)?;
        let host_digest = logits_digest(scratch.logits());
        let input: Vec<u8> = q.input_codes(image).collect();
        let device = client.classify(&input)?;
        samples += 1;
        cost = cost.saturating_add(device.controller_cost);
        if usize::from(device.class) == host_class && device.logits_digest == host_digest {
            matches += 1;
        }
        correct += usize::from(device.class == label);
        host_correct += usize::from(host_class == usize::from(label));
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
