//! The controller's functional network store (`imc_model::xbar::net::NetStore`) driven by
//! an arbitrary sequence of upload steps and samples, as `NetBegin` / `NetLayer` /
//! `NetWeights` / `NetBiases` / `NetCommit` / `Classify` frames would drive it.
//!
//! Raw steps carry arbitrary values. Helper steps make deep states reachable: `FillWeights`
//! / `FillBiases` append exactly the missing tensor elements in wire-sized chunks,
//! `Network` uploads a whole chained network with in-range bits and weights, and
//! `ClassifyFit` sends a sample of the right length and code width.
//!
//! Checks: nothing panics (the bit-accurate forward pass included, with overflow checks);
//! a failed upload step leaves the store not runnable; only a committed store classifies;
//! a forward pass is deterministic and its class indexes the last layer's outputs.
#![no_main]

use imc_model::xbar::net::{NetError, NetLayer, NetRequant, NetScratch, NetStore};
use imc_model::wire::{NET_BIASES_CHUNK, NET_WEIGHTS_CHUNK};
use imc_model::ArchParams;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Step {
    Begin {
        cell_bits: u8,
        dac_bits: u8,
        adc_bits: u8,
        layers: u8,
    },
    Layer(LayerInput),
    Weights {
        offset: u32,
        data: Vec<i8>,
    },
    Biases {
        offset: u32,
        data: Vec<i32>,
    },
    FillWeights {
        seed: u8,
        stride: u8,
    },
    FillBiases {
        seed: i32,
    },
    Commit,
    /// A whole upload: begin, chained layers (requantization on all but the last), weights
    /// within each layer's symmetric range, biases, commit.
    Network {
        layers: Vec<LayerInput>,
        seed: u8,
        bias: i32,
    },
    Classify(Vec<u8>),
    /// A sample of the first layer's input length with codes below `2^a_bits`.
    ClassifyFit(u8),
}

#[derive(Arbitrary, Debug)]
struct LayerInput {
    input: (u8, u8, u8),
    c_out: u8,
    kernel: (u8, u8),
    stride: (u8, u8),
    pad: (u8, u8),
    w_bits: u8,
    a_bits: u8,
    requant: Option<(u32, u8, u8)>,
    /// Takes `input` and `a_bits` from the previous layer, and maps the requantization
    /// into its valid range, so deeper networks commit.
    chain: bool,
}

/// What the store must have been given so far, tracked beside it.
#[derive(Default)]
struct Shadow {
    layers: Vec<NetLayer>,
    weights: usize,
    biases: usize,
}

fuzz_target!(|steps: Vec<Step>| {
    let mut store = Box::new(NetStore::new());
    let mut scratch = Box::new(NetScratch::new());
    let mut shadow = Shadow::default();
    for step in steps.into_iter().take(64) {
        let result = match step {
            Step::Begin {
                cell_bits,
                dac_bits,
                adc_bits,
                layers,
            } => {
                let mut arch = ArchParams::ISAAC;
                (arch.cell_bits, arch.dac_bits, arch.adc_bits) = (cell_bits, dac_bits, adc_bits);
                shadow = Shadow::default();
                store.begin(arch, layers)
            }
            Step::Layer(l) => {
                let mut layer = net_layer(&l);
                if l.chain {
                    chain(&mut layer, shadow.layers.last());
                }
                let pushed = store.push_layer(layer);
                if pushed.is_ok() {
                    shadow.layers.push(layer);
                }
                pushed
            }
            Step::Weights { offset, data } => chunked_weights(&mut store, &mut shadow, offset, &data),
            Step::Biases { offset, data } => chunked_biases(&mut store, &mut shadow, offset, &data),
            Step::FillWeights { seed, stride } => {
                let needed: usize = shadow
                    .layers
                    .iter()
                    .map(weight_count)
                    .sum::<usize>()
                    .saturating_sub(shadow.weights);
                let data: Vec<i8> = (0..needed)
                    .map(|i| (i as u8).wrapping_mul(stride).wrapping_add(seed) as i8)
                    .collect();
                let offset = shadow.weights as u32;
                chunked_weights(&mut store, &mut shadow, offset, &data)
            }
            Step::FillBiases { seed } => {
                let needed: usize = shadow
                    .layers
                    .iter()
                    .map(|l| usize::from(l.c_out))
                    .sum::<usize>()
                    .saturating_sub(shadow.biases);
                let data: Vec<i32> = (0..needed as i32).map(|i| seed.wrapping_mul(i + 1)).collect();
                let offset = shadow.biases as u32;
                chunked_biases(&mut store, &mut shadow, offset, &data)
            }
            Step::Commit => store.commit(),
            Step::Network { layers, seed, bias } => {
                shadow = Shadow::default();
                upload_network(&mut store, &mut shadow, &layers, seed, bias)
            }
            Step::ClassifyFit(seed) => {
                if let Some(first) = shadow.layers.first() {
                    let mask = u8::try_from((1u16 << first.a_bits.min(8)) - 1).unwrap_or(u8::MAX);
                    let input: Vec<u8> = (0..first.geometry().input_len())
                        .map(|i| (i as u8).wrapping_mul(seed) & mask)
                        .collect();
                    classify_checked(&store, &mut scratch, &shadow, &input);
                }
                continue;
            }
            Step::Classify(input) => {
                classify_checked(&store, &mut scratch, &shadow, &input);
                continue;
            }
        };
        if result.is_err() {
            assert!(!store.is_ready(), "a failed upload step leaves the store not runnable");
        }
    }
});

/// Makes `layer` follow `previous` (input shape and activation bits) and gives it a
/// requantization in the valid range (multiplier in `[2^30, 2^31)`, shift in `1..=91`).
fn chain(layer: &mut NetLayer, previous: Option<&NetLayer>) {
    if let Some(p) = previous {
        let g = p.geometry();
        let narrow = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
        layer.input = (p.c_out, narrow(g.out_h()), narrow(g.out_w()));
        layer.a_bits = p.requant.map_or(layer.a_bits, |r| r.out_bits);
    }
    if let Some(r) = &mut layer.requant {
        r.multiplier = (1 << 30) | (r.multiplier & ((1 << 30) - 1));
        r.shift = 1 + r.shift % 91;
        r.out_bits = 1 + r.out_bits % 8;
    }
}

/// See [`Step::Network`]; stops at the first refusal.
fn upload_network(
    store: &mut NetStore,
    shadow: &mut Shadow,
    inputs: &[LayerInput],
    seed: u8,
    bias: i32,
) -> Result<(), NetError> {
    let count = u8::try_from(inputs.len()).unwrap_or(u8::MAX);
    store.begin(ArchParams::ISAAC, count)?;
    for (i, l) in inputs.iter().enumerate() {
        let mut layer = fit(net_layer(l));
        layer.requant = (i + 1 < inputs.len()).then(|| {
            let (multiplier, shift, out_bits) = l.requant.unwrap_or((0, 20, 8));
            NetRequant {
                multiplier,
                shift,
                out_bits,
            }
        });
        chain(&mut layer, shadow.layers.last());
        store.push_layer(layer)?;
        shadow.layers.push(layer);
    }
    let mut weights = Vec::new();
    for layer in &shadow.layers {
        let bound = (1i16 << (layer.w_bits.clamp(1, 8) - 1)) - 1;
        let span = 2 * bound + 1;
        weights
            .extend((0..weight_count(layer)).map(|i| (i16::from((i as u8).wrapping_mul(seed)) % span - bound) as i8));
    }
    chunked_weights(store, shadow, 0, &weights)?;
    let biases: Vec<i32> = (0..shadow.layers.iter().map(|l| i32::from(l.c_out)).sum::<i32>())
        .map(|i| bias.wrapping_mul(i - 3) >> 8)
        .collect();
    chunked_biases(store, shadow, 0, &biases)?;
    store.commit()
}

/// Moves a layer's bits and geometry into the ranges the store accepts (sizes may still
/// exceed its capacity), so whole networks commit often.
fn fit(mut layer: NetLayer) -> NetLayer {
    let at_least_one = |v: u16| v.max(1);
    layer.input = (
        at_least_one(layer.input.0 % 64),
        at_least_one(layer.input.1 % 16),
        at_least_one(layer.input.2 % 16),
    );
    layer.c_out = at_least_one(layer.c_out % 64);
    layer.kernel = (1 + layer.kernel.0 % 5, 1 + layer.kernel.1 % 5);
    layer.stride = (1 + layer.stride.0 % 3, 1 + layer.stride.1 % 3);
    layer.pad = (layer.pad.0 % layer.kernel.0, layer.pad.1 % layer.kernel.1);
    layer.w_bits = 1 + layer.w_bits % 8;
    layer.a_bits = 1 + layer.a_bits % 8;
    layer
}

/// The raw layer an input describes.
fn net_layer(l: &LayerInput) -> NetLayer {
    NetLayer {
        input: (u16::from(l.input.0), u16::from(l.input.1), u16::from(l.input.2)),
        c_out: u16::from(l.c_out),
        kernel: l.kernel,
        stride: l.stride,
        pad: l.pad,
        w_bits: l.w_bits,
        a_bits: l.a_bits,
        requant: l.requant.map(|(multiplier, shift, out_bits)| NetRequant {
            multiplier,
            shift,
            out_bits,
        }),
    }
}

/// Classifies `input` and checks the outcome against the store's state.
fn classify_checked(store: &NetStore, scratch: &mut NetScratch, shadow: &Shadow, input: &[u8]) {
    let ready = store.is_ready();
    let first = store.classify(input, scratch);
    if let Ok((class, digest)) = first {
        assert!(ready, "only a committed network classifies");
        let last = shadow.layers.last().expect("a runnable store has layers");
        assert!(usize::from(class) < last.geometry().output_len().max(1));
        assert_eq!(store.classify(input, scratch), Ok((class, digest)), "deterministic");
    }
}

fn weight_count(l: &NetLayer) -> usize {
    l.geometry().rows() * usize::from(l.c_out)
}

/// Sends `data` as `NetWeights` frames would carry it; stops at the first refusal.
fn chunked_weights(store: &mut NetStore, shadow: &mut Shadow, offset: u32, data: &[i8]) -> Result<(), NetError> {
    let mut at = offset;
    for chunk in data.chunks(NET_WEIGHTS_CHUNK) {
        store.push_weights(at, chunk)?;
        shadow.weights += chunk.len();
        at = at.wrapping_add(chunk.len() as u32);
    }
    Ok(())
}

/// Sends `data` as `NetBiases` frames would carry it; stops at the first refusal.
fn chunked_biases(store: &mut NetStore, shadow: &mut Shadow, offset: u32, data: &[i32]) -> Result<(), NetError> {
    let mut at = offset;
    for chunk in data.chunks(NET_BIASES_CHUNK) {
        store.push_biases(at, chunk)?;
        shadow.biases += chunk.len();
        at = at.wrapping_add(chunk.len() as u32);
    }
    Ok(())
}
