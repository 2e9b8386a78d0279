//! `lrmp import FILE [--out net.toml] [--input-shape C,H,W]`: shows what a network file
//! imports to (the layer table, and for ONNX graphs every operation skipped and why) and
//! writes it as a TOML layer table that re-imports to the same layers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use host_optimizer::network::onnx::{self, Import, ImportOptions, LayerOrigin, SkippedOp};
use host_optimizer::network::{self, Layer, Network};
use imc_model::LayerKind;

use super::common::{input_shape, out_error};
use super::{Classify, CliResult, Failure};

/// Arguments of `lrmp import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The network file: .onnx, .json (PIMCOMP-NN), .csv or .toml.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Write the derived layers here as a TOML layer table.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// C,H,W of an ONNX graph's input, for graphs exported with a symbolic spatial size.
    #[arg(long, value_name = "C,H,W", value_parser = input_shape)]
    input_shape: Option<[u32; 3]>,
}

/// Runs `lrmp import`.
pub fn run(args: ImportArgs) -> CliResult {
    let spec = args.file.display().to_string();
    let options = ImportOptions {
        input_shape: args.input_shape,
    };
    let is_onnx = spec.to_ascii_lowercase().ends_with(".onnx");
    let import = if is_onnx {
        let bytes =
            std::fs::read(&args.file).map_err(|e| Failure::BadInput(anyhow!("{spec}: cannot read the file: {e}")))?;
        let stem = args.file.file_stem().and_then(|s| s.to_str()).unwrap_or("network");
        Some(onnx::import(&bytes, &spec, stem, &options).bad_input()?)
    } else {
        None
    };
    let network = match &import {
        Some(i) => i.network.clone(),
        None => network::load_with(&spec, &options).bad_input()?,
    };
    if let Some(i) = &import {
        outln!(
            "{spec}: ONNX opset {}, input `{}` {:?} (batch taken as 1 when symbolic)",
            i.opset,
            i.input.0,
            i.input.1
        );
    }
    print_layers(&network, import.as_ref().map(|i| i.origins.as_slice()))?;
    match &import {
        Some(i) => print_skipped(&i.skipped)?,
        None => outln!("(operations skipped on import are listed for ONNX files only)"),
    }
    if let Some(path) = &args.out {
        let (text, notes) = to_toml(&network, import.as_ref(), &spec);
        std::fs::write(path, text).map_err(|e| out_error(path, e))?;
        for note in notes {
            eprintln!("note: {note}");
        }
        outln!("wrote {} ({} layers)", path.display(), network.layers.len());
    }
    Ok(())
}

fn print_layers(network: &Network, origins: Option<&[LayerOrigin]>) -> CliResult {
    outln!(
        "{} mappable layers ({} weights):",
        network.layers.len(),
        network.total_weights()
    );
    outln!(
        "{:>4}  {:<40} {:<6} {:>7} {:>7} {:>7} {:>6} {:>9} {:>5} {:>6} {:>11} {:>11}",
        "#",
        "name",
        "op",
        "c_in",
        "c_out",
        "kernel",
        "stride",
        "pad t,l/b,r",
        "dil",
        "groups",
        "in HxW",
        "out HxW"
    );
    for (i, layer) in network.layers.iter().enumerate() {
        let origin = origins.and_then(|o| o.get(i));
        let d = layer.shape.dims();
        let op = origin.map_or(kind(layer), |o| o.op_type.as_str());
        let end = origin.map_or(layer.padding, |o| o.pad_end);
        let dil = origin.map_or((1, 1), |o| o.dilation);
        outln!(
            "{:>4}  {:<40} {:<6} {:>7} {:>7} {:>7} {:>6} {:>9} {:>5} {:>6} {:>11} {:>11}",
            i,
            layer.name,
            op,
            d.c_in,
            d.c_out,
            format!("{}x{}", d.kernel_h, d.kernel_w),
            format!("{},{}", layer.stride.0, layer.stride.1),
            format!("{},{}/{},{}", layer.padding.0, layer.padding.1, end.0, end.1),
            format!("{},{}", dil.0, dil.1),
            d.groups,
            format!("{}x{}", d.in_h, d.in_w),
            format!("{}x{}", d.out_h, d.out_w)
        );
    }
    Ok(())
}

fn kind(layer: &Layer) -> &'static str {
    match layer.shape.dims().kind {
        LayerKind::Conv => "conv",
        LayerKind::Fc => "fc",
    }
}

/// Skipped nodes, grouped by operator and reason; operators the importer does not know are
/// listed node by node.
fn print_skipped(skipped: &[SkippedOp]) -> CliResult {
    let mut groups: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for s in skipped {
        groups
            .entry((s.op_type.as_str(), s.reason.as_str()))
            .or_default()
            .push(s.node.as_str());
    }
    outln!("{} operations skipped:", skipped.len());
    for ((op, reason), nodes) in groups {
        let unknown = reason.starts_with("not a known") || reason.starts_with("input shape unknown");
        let shown = if unknown || nodes.len() <= 3 {
            nodes.join(", ")
        } else {
            format!(
                "{}, ... ({} more)",
                nodes.iter().take(3).copied().collect::<Vec<_>>().join(", "),
                nodes.len() - 3
            )
        };
        outln!("  {op} x{}: {reason}: {shown}", nodes.len());
    }
    Ok(())
}

/// A quoted, escaped TOML string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The table text, and notes on layers whose padding had to be adjusted (the table has no
/// dilation and one padding per axis).
fn to_toml(network: &Network, import: Option<&Import>, spec: &str) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut notes = Vec::new();
    let _ = writeln!(text, "# Layer table written by `lrmp import {spec}`.");
    let _ = writeln!(
        text,
        "# Format: docs/network-formats.md. Only conv and fc layers are listed."
    );
    let _ = writeln!(text, "name = {}", quoted(&network.name));
    for (i, layer) in network.layers.iter().enumerate() {
        let d = layer.shape.dims();
        let _ = writeln!(text, "\n[[layer]]\nname = {}", quoted(&layer.name));
        if d.kind == LayerKind::Fc {
            let _ = writeln!(text, "kind = \"fc\"\nc_in = {}\nc_out = {}", d.c_in, d.c_out);
            continue;
        }
        let origin = import.and_then(|imp| imp.origins.get(i));
        let (pad_h, pad_w) = (
            table_padding(d.in_h, d.kernel_h, layer.stride.0, layer.padding.0, d.out_h),
            table_padding(d.in_w, d.kernel_w, layer.stride.1, layer.padding.1, d.out_w),
        );
        if (pad_h, pad_w) != (Some(layer.padding.0), Some(layer.padding.1)) {
            let why = origin.map_or(String::new(), |o| {
                format!("pads {:?}/{:?}, dilation {:?}", layer.padding, o.pad_end, o.dilation)
            });
            let shown = |p: Option<u32>| p.map_or_else(|| "none fits".to_owned(), |p| p.to_string());
            let note = format!(
                "layer `{}`: {why}; the table has one padding per axis and no dilation, so padding \
                 {},{} was written to keep the output size {}x{} (the crossbar shape is unchanged)",
                layer.name,
                shown(pad_h),
                shown(pad_w),
                d.out_h,
                d.out_w
            );
            let _ = writeln!(text, "# {note}");
            notes.push(note);
        }
        let _ = writeln!(
            text,
            "kind = \"conv\"\nc_in = {}\nc_out = {}\nkernel_h = {}\nkernel_w = {}\nstride_h = {}\nstride_w = {}",
            d.c_in, d.c_out, d.kernel_h, d.kernel_w, layer.stride.0, layer.stride.1
        );
        let _ = writeln!(
            text,
            "padding_h = {}\npadding_w = {}\ngroups = {}\nin_h = {}\nin_w = {}\nout_h = {}\nout_w = {}",
            pad_h.unwrap_or(layer.padding.0),
            pad_w.unwrap_or(layer.padding.1),
            d.groups,
            d.in_h,
            d.in_w,
            d.out_h,
            d.out_w
        );
    }
    (text, notes)
}

/// The symmetric padding the table needs for `out = (in + 2p - k)/s + 1`: `pad` itself when
/// it fits, else the smallest one that does (after asymmetric padding or dilation).
fn table_padding(input: u32, kernel: u32, stride: u32, pad: u32, out: u32) -> Option<u32> {
    let fits = |p: u32| {
        let padded = u64::from(input) + 2 * u64::from(p);
        padded >= u64::from(kernel)
            && stride > 0
            && (padded - u64::from(kernel)) / u64::from(stride) + 1 == u64::from(out)
    };
    if fits(pad) {
        return Some(pad);
    }
    (0..=kernel.saturating_mul(4).max(64)).find(|&p| fits(p))
}
