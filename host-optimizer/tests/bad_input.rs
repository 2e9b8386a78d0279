//! The bad-input catalogue (`docs/bad-input.md`), one case per row.
//!
//! Every CLI row runs the real `lrmp` binary on fixture files written to a fresh temporary
//! directory, under a deadline (a hang fails the test instead of stalling CI), and checks
//! the contract: exit code 2, a message starting `error: ` that contains the row's
//! fragments (which name the input and where in it the fault is), and no panic. Frame rows
//! drive the link [`Client`] over a scripted byte stream. The catalogue and this file are
//! kept in sync by `catalogue_and_cases_agree`: every row id of the document has exactly
//! one case here and vice versa, and every fragment a case checks appears in its row.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "bad_input/frames.rs"]
mod bad_input_frames;
#[path = "bad_input/onnx.rs"]
mod bad_input_onnx;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use host_optimizer::network;
use host_optimizer::plan_file::{self, PlanFile};
use imc_model::physical::PhysicalParams;
use imc_model::{ArchConfig, Precision};
use serde_json::{json, Value};

/// How long one `lrmp` run may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(60);

/// Contents of a fixture file.
enum Src {
    Text(&'static str),
    Bytes(&'static [u8]),
    Gen(fn() -> Vec<u8>),
}

/// One row of the catalogue run through the CLI.
struct Case {
    id: &'static str,
    files: &'static [(&'static str, Src)],
    /// Arguments; `@name` becomes the path of fixture `name` (which need not exist).
    args: &'static [&'static str],
    /// Fragments stderr must contain; each also appears in the row of the document.
    expect: &'static [&'static str],
}

use Src::{Bytes, Gen, Text};

/// The committed digits weights (a valid file for another network than fashion).
const DIGITS_WEIGHTS: &str = include_str!("../../data/digits/weights.json");

const DIGITS_CSV: &str = "name,kind,c_in,c_out,kernel,stride,padding,in_h,in_w\n\
                          conv1,conv,1,16,3,1,1,8,8\nconv2,conv,16,32,3,2,1,8,8\nfc1,fc,512,64,,,,,\nfc2,fc,64,10,,,,,\n";

/// A small valid PIMCOMP-NN graph: input, a 3x3 conv, an fc.
fn graph() -> Value {
    json!({"node_list": [
        {"index": 0, "name": "in", "operation": "OP_INPUT", "output_dim": [1, 3, 8, 8],
         "provider_index": [], "consumer_index": [1]},
        {"index": 1, "name": "conv", "operation": "OP_CONV", "input_dim": [1, 3, 8, 8], "output_dim": [1, 4, 8, 8],
         "param": {"input_channel": 3, "output_channel": 4, "kernel_h": 3, "kernel_w": 3,
                   "pad_h0": 1, "pad_h1": 1, "pad_w0": 1, "pad_w1": 1},
         "provider_index": [0], "consumer_index": [2]},
        {"index": 2, "name": "fc", "operation": "OP_FC", "input_dim": [1, 4, 8, 8], "output_dim": [1, 10],
         "param": {"num_input": 256, "num_output": 10}, "provider_index": [1], "consumer_index": []}
    ]})
}

fn graph_with(change: fn(&mut Value)) -> Vec<u8> {
    let mut g = graph();
    change(&mut g);
    g.to_string().into_bytes()
}

/// A plan file of `network` (every layer 8/8, replication 1) after `change`.
fn plan_of(network: &str, change: fn(&mut PlanFile)) -> Vec<u8> {
    let net = network::builtin(network).expect("built in");
    let n = net.layers.len();
    let mut file =
        plan_file::build(&ArchConfig::isaac(), &net, &vec![Precision::BASELINE; n], &vec![1; n]).expect("a valid plan");
    change(&mut file);
    file.to_bytes().expect("encodes")
}

fn csv_of_layers(n: usize) -> Vec<u8> {
    let mut text = String::from("name,kind,c_in,c_out\n");
    for i in 0..n {
        text.push_str(&format!("f{i},fc,8,8\n"));
    }
    text.into_bytes()
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- any file ---
    Case { id: "file-missing", files: &[], args: &["plan", "--network", "@nope.csv"], expect: &["nope.csv: not a built-in network (resnet18", "and not an existing file"] },
    Case { id: "file-directory", files: &[("dir.csv/x", Text(""))], args: &["plan", "--network", "@dir.csv"], expect: &["dir.csv: is a directory, not a network file"] },
    Case { id: "file-extension", files: &[("net.txt", Text(DIGITS_CSV))], args: &["plan", "--network", "@net.txt"], expect: &["net.txt: unknown network file type: expected .onnx, .json, .csv or .toml"] },
    Case { id: "file-not-utf8", files: &[("bin.csv", Bytes(b"name,kind,c_in,c_out\n\xff\xfe,fc,3,8\n"))], args: &["plan", "--network", "@bin.csv"], expect: &["bin.csv: line 2: not UTF-8 text (byte 21)"] },
    Case { id: "file-empty", files: &[("empty.csv", Text(""))], args: &["plan", "--network", "@empty.csv"], expect: &["empty.csv: the network has no conv or fc layer"] },
    // --- CSV layer tables ---
    Case { id: "csv-kernel-zero", files: &[("k0.csv", Text("name,kind,c_in,c_out,kernel,in_h,in_w\nc1,conv,3,8,0,8,8\n"))], args: &["plan", "--network", "@k0.csv"], expect: &["k0.csv: layer `c1`: field `kernel_h`: must be at least 1"] },
    Case { id: "csv-missing-field", files: &[("noin.csv", Text("name,kind,c_in,c_out,kernel\nc1,conv,3,8,3\n"))], args: &["plan", "--network", "@noin.csv"], expect: &["noin.csv: layer `c1`: field `in_h`: missing"] },
    Case { id: "csv-not-integer", files: &[("nan.csv", Text("name,kind,c_in,c_out\nf,fc,abc,8\n"))], args: &["plan", "--network", "@nan.csv"], expect: &["nan.csv: layer `f`: field `c_in`: `abc` is not an integer"] },
    Case { id: "csv-negative", files: &[("neg.csv", Text("name,kind,c_in,c_out\nf,fc,-3,8\n"))], args: &["plan", "--network", "@neg.csv"], expect: &["neg.csv: layer `f`: field `c_in`: must not be negative, got -3"] },
    Case { id: "csv-overflow-u32", files: &[("big.csv", Text("name,kind,c_in,c_out\nf,fc,99999999999,8\n"))], args: &["plan", "--network", "@big.csv"], expect: &["big.csv: layer `f`: field `c_in`: 99999999999 is too large"] },
    Case { id: "csv-over-limit", files: &[("huge.csv", Text("name,kind,c_in,c_out\nf,fc,4294967295,8\n"))], args: &["plan", "--network", "@huge.csv"], expect: &["huge.csv: layer `f`: field `c_in`: exceeds the supported size (at most 1048576)"] },
    Case { id: "csv-unknown-key", files: &[("typo.csv", Text("name,kind,c_in,c_out,kernal\nf,fc,3,8,1\n"))], args: &["plan", "--network", "@typo.csv"], expect: &["typo.csv: layer `header`: field `kernal`: unknown key (known: name, kind"] },
    Case { id: "csv-bad-kind", files: &[("kind.csv", Text("name,kind,c_in,c_out\np,pool,3,8\n"))], args: &["plan", "--network", "@kind.csv"], expect: &["kind.csv: layer `p`: field `kind`: `pool` is neither `conv` nor `fc`"] },
    Case { id: "csv-duplicate-name", files: &[("dup.csv", Text("name,kind,c_in,c_out\nf,fc,3,8\nf,fc,8,8\n"))], args: &["plan", "--network", "@dup.csv"], expect: &["dup.csv: layer `f`: field `name`: duplicate layer name"] },
    Case { id: "csv-ragged-row", files: &[("short.csv", Text("name,kind,c_in,c_out\nf,fc,3\n"))], args: &["plan", "--network", "@short.csv"], expect: &["short.csv: layer `line 2`: has 3 fields, the header has 4"] },
    Case { id: "csv-groups", files: &[("g.csv", Text("name,kind,c_in,c_out,groups,kernel,in_h,in_w\nc,conv,6,8,4,3,8,8\n"))], args: &["plan", "--network", "@g.csv"], expect: &["g.csv: layer `c`: field `c_in`: 6 channels are not divisible by 4 groups"] },
    Case { id: "csv-output-disagrees", files: &[("o.csv", Text("name,kind,c_in,c_out,kernel,in_h,in_w,out_h\nc,conv,6,8,3,8,8,7\n"))], args: &["plan", "--network", "@o.csv"], expect: &["o.csv: layer `c`: field `out_h`: 7 disagrees with the derived output size 6"] },
    Case { id: "csv-window-too-big", files: &[("w.csv", Text("name,kind,c_in,c_out,kernel,in_h,in_w\nc,conv,6,8,9,4,4\n"))], args: &["plan", "--network", "@w.csv"], expect: &["w.csv: layer `c`: field `kernel_h`: a window of 9 does not fit the padded input of 4"] },
    Case { id: "csv-fc-padding", files: &[("fp.csv", Text("name,kind,c_in,c_out,padding\nf,fc,3,8,1\n"))], args: &["plan", "--network", "@fp.csv"], expect: &["fp.csv: layer `f`: field `padding`: must be 0 for an fc layer, got 1"] },
    // --- TOML layer tables ---
    Case { id: "toml-syntax", files: &[("syn.toml", Text("[[layer]]\nname=\"f\"\nkind=\"fc\"\nc_in=3\nc_out=8\n[[layer]\n"))], args: &["plan", "--network", "@syn.toml"], expect: &["syn.toml: not valid TOML (line 6): unclosed array table"] },
    Case { id: "toml-unknown-field", files: &[("unk.toml", Text("[[layer]]\nname=\"f\"\nkind=\"fc\"\nc_in=3\nc_out=8\nbogus=1\n"))], args: &["plan", "--network", "@unk.toml"], expect: &["unk.toml: layer `f`: field `bogus`: unknown key"] },
    Case { id: "toml-unknown-top-key", files: &[("top.toml", Text("top=1\n[[layer]]\nname=\"f\"\nkind=\"fc\"\nc_in=3\nc_out=8\n"))], args: &["plan", "--network", "@top.toml"], expect: &["top.toml: field `top`: unknown top-level key (known: name, layer)"] },
    Case { id: "toml-wrong-type", files: &[("flt.toml", Text("[[layer]]\nname=\"f\"\nkind=\"fc\"\nc_in=3.5\nc_out=8\n"))], args: &["plan", "--network", "@flt.toml"], expect: &["flt.toml: layer `f`: field `c_in`: expected an integer"] },
    Case { id: "toml-no-layers", files: &[("none.toml", Text("name=\"x\"\n"))], args: &["plan", "--network", "@none.toml"], expect: &["none.toml: field `layer`: missing `[[layer]]` tables"] },
    Case { id: "toml-zero", files: &[("zero.toml", Text("[[layer]]\nname=\"f\"\nkind=\"fc\"\nc_in=0\nc_out=8\n"))], args: &["plan", "--network", "@zero.toml"], expect: &["zero.toml: layer `f`: field `c_in`: must be at least 1"] },
    Case { id: "toml-unnamed-layer", files: &[("anon.toml", Text("[[layer]]\nkind=\"fc\"\nc_in=3\nc_out=8\n"))], args: &["plan", "--network", "@anon.toml"], expect: &["anon.toml: layer `layer[0]`: field `name`: missing"] },
    // --- PIMCOMP-NN JSON graphs ---
    Case { id: "json-syntax", files: &[("cut.json", Text("{\"node_list\": [{\"index\": 0, \"na"))], args: &["plan", "--network", "@cut.json"], expect: &["cut.json: not a PIMCOMP-NN graph: EOF while parsing"] },
    Case { id: "json-no-node-list", files: &[("nn.json", Text("{\"foo\": 1}"))], args: &["plan", "--network", "@nn.json"], expect: &["nn.json: field `node_list`: not a PIMCOMP-NN graph: missing field `node_list`"] },
    Case { id: "json-deep-nesting", files: &[("deep.json", Gen(|| format!("{{\"node_list\": [{{\"index\": 0, \"extra\": {}{}}}]}}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()))], args: &["plan", "--network", "@deep.json"], expect: &["deep.json: not a PIMCOMP-NN graph: recursion limit exceeded"] },
    Case { id: "json-dangling-edge", files: &[("dangle.json", Gen(|| graph_with(|g| g["node_list"][1]["consumer_index"] = json!([7]))))], args: &["plan", "--network", "@dangle.json"], expect: &["dangle.json: layer `conv`: field `consumer_index`: dangling edge: no node has index 7"] },
    Case { id: "json-one-way-edge", files: &[("oneway.json", Gen(|| graph_with(|g| g["node_list"][2]["provider_index"] = json!([0]))))], args: &["plan", "--network", "@oneway.json"], expect: &["oneway.json: layer `conv`: field `consumer_index`: node `fc` does not list this node in its provider_index"] },
    Case { id: "json-cycle", files: &[("cycle.json", Gen(|| graph_with(|g| {
        g["node_list"][2]["consumer_index"] = json!([1]);
        g["node_list"][1]["provider_index"] = json!([0, 2]);
    })))], args: &["plan", "--network", "@cycle.json"], expect: &["cycle.json: layer `conv`: field `provider_index`: the graph has a cycle through this node"] },
    Case { id: "json-duplicate-index", files: &[("dupid.json", Gen(|| graph_with(|g| g["node_list"][2]["index"] = json!(1))))], args: &["plan", "--network", "@dupid.json"], expect: &["dupid.json: layer `fc`: field `index`: index 1 is also used by node `conv`"] },
    Case { id: "json-unknown-op", files: &[("op.json", Gen(|| graph_with(|g| g["node_list"][2]["operation"] = json!("OP_FOO"))))], args: &["plan", "--network", "@op.json"], expect: &["op.json: layer `fc`: field `operation`: unknown operation `OP_FOO`"] },
    Case { id: "json-matmul", files: &[("mm.json", Gen(|| graph_with(|g| g["node_list"][2]["operation"] = json!("OP_MATMUL"))))], args: &["plan", "--network", "@mm.json"], expect: &["mm.json: layer `fc`: field `operation`: OP_MATMUL is not supported"] },
    Case { id: "json-missing-param", files: &[("np.json", Gen(|| graph_with(|g| g["node_list"][1]["param"] = Value::Null)))], args: &["plan", "--network", "@np.json"], expect: &["np.json: layer `conv`: field `param`:"] },
    Case { id: "json-output-dim", files: &[("od.json", Gen(|| graph_with(|g| g["node_list"][1]["output_dim"] = json!([1, 4, 9, 8]))))], args: &["plan", "--network", "@od.json"], expect: &["od.json: layer `conv`: field `output_dim`: [1, 4, 9, 8] disagrees with the derived [C, H, W] = [4, 8, 8]"] },
    Case { id: "json-dim-not-positive", files: &[("dz.json", Gen(|| graph_with(|g| g["node_list"][1]["input_dim"] = json!([1, 3, -8, 8]))))], args: &["plan", "--network", "@dz.json"], expect: &["dz.json: layer `conv`: field `input_dim`: dimension 2 is -8; every dimension must be positive"] },
    Case { id: "json-fc-features", files: &[("fcf.json", Gen(|| graph_with(|g| g["node_list"][2]["param"]["num_input"] = json!(255))))], args: &["plan", "--network", "@fcf.json"], expect: &["fcf.json: layer `fc`: field `input_dim`: [1, 4, 8, 8] holds 256 features but param.num_input is 255"] },
    Case { id: "json-no-provider", files: &[("orphan.json", Gen(|| graph_with(|g| {
        g["node_list"][2]["provider_index"] = json!([]);
        g["node_list"][1]["consumer_index"] = json!([]);
    })))], args: &["plan", "--network", "@orphan.json"], expect: &["orphan.json: layer `fc`: field `provider_index`: a conv or fc node needs an input"] },
    Case { id: "json-overflow-u32", files: &[("k40.json", Gen(|| graph_with(|g| g["node_list"][1]["param"]["kernel_h"] = json!(1u64 << 40))))], args: &["plan", "--network", "@k40.json"], expect: &["k40.json: layer `conv`: field `param.kernel_h`: 1099511627776 is too large (at most 4294967295)"] },
    // --- ONNX graphs ---
    Case { id: "onnx-truncated", files: &[("cut.onnx", Gen(bad_input_onnx::truncated))], args: &["plan", "--network", "@cut.onnx"], expect: &["cut.onnx: not a valid ONNX model (truncated, or not ONNX): failed to decode Protobuf message: ModelProto.graph: buffer underflow"] },
    Case { id: "onnx-not-onnx", files: &[("csv.onnx", Text("name,kind,c_in,c_out\nf,fc,3,8\n"))], args: &["plan", "--network", "@csv.onnx"], expect: &["csv.onnx: not a valid ONNX model (truncated, or not ONNX): failed to decode Protobuf message: invalid wire type value: 6"] },
    Case { id: "onnx-opset", files: &[("old.onnx", Gen(bad_input_onnx::old_opset))], args: &["plan", "--network", "@old.onnx"], expect: &["old.onnx: field `opset_import`: opset 5 is not supported (this importer reads opsets 7 to 23)"] },
    Case { id: "onnx-runtime-weight", files: &[("rtw.onnx", Gen(bad_input_onnx::runtime_weight))], args: &["plan", "--network", "@rtw.onnx"], expect: &["rtw.onnx: layer `conv`: field `input[1]`: Conv node: the weight `w` is computed at run time"] },
    Case { id: "onnx-value-info", files: &[("vi.onnx", Gen(bad_input_onnx::wrong_value_info))], args: &["plan", "--network", "@vi.onnx"], expect: &["vi.onnx: layer `relu`: field `output[0]`: Relu node: value_info records output `r` as [1, 4, 9, 8] but the graph gives [1, 4, 8, 8]"] },
    Case { id: "onnx-cycle", files: &[("cyc.onnx", Gen(bad_input_onnx::cycle))], args: &["plan", "--network", "@cyc.onnx"], expect: &["cyc.onnx: layer `conv`: field `input`: Conv node: the graph has a cycle through this node"] },
    Case { id: "onnx-computed-reshape", files: &[("view.onnx", Gen(bad_input_onnx::computed_reshape))], args: &["plan", "--network", "@view.onnx"], expect: &["view.onnx: layer `view`: field `input[1]`: Reshape node: computed at run time"] },
    Case { id: "onnx-symbolic-size", files: &[("sym.onnx", Gen(bad_input_onnx::symbolic_size))], args: &["plan", "--network", "@sym.onnx"], expect: &["sym.onnx: layer `x`: field `dim[2]`: graph input: dimension 2 is symbolic; give its size with --input-shape C,H,W"] },
    Case { id: "onnx-unknown-op", files: &[("unk.onnx", Gen(bad_input_onnx::unknown_op))], args: &["plan", "--network", "@unk.onnx"], expect: &["unk.onnx: layer `conv`: field `input[0]`: Conv node: the shape of this input is not derived: it depends on `fancy` (FancyOp)"] },
    Case { id: "onnx-input-shape-syntax", files: &[], args: &["plan", "--network", "@net.onnx", "--input-shape", "3,x,8"], expect: &["invalid value '3,x,8' for '--input-shape <C,H,W>': `x` in `3,x,8` is not a positive integer"] },
    Case { id: "onnx-input-shape-other-file", files: &[], args: &["plan", "--network", "digits", "--input-shape", "1,8,8"], expect: &["digits: field `input_shape`: an input shape (--input-shape) applies to .onnx files only"] },
    // --- architecture files ---
    Case { id: "arch-missing", files: &[], args: &["plan", "--network", "digits", "--arch", "@isaac2"], expect: &["isaac2: no such preset or file (presets: isaac, ideal, isaac-noc)"] },
    Case { id: "phys-zero-hierarchy", files: &[("ima0.toml", Text("base = \"isaac\"\n[physical]\nimas_per_tile = 0\n"))], args: &["plan", "--network", "digits", "--arch", "@ima0.toml"], expect: &["ima0.toml: field `physical.imas_per_tile`: 0 is out of range (minimum 1, maximum 4096)"] },
    Case { id: "phys-absurd-energy", files: &[("adc.toml", Text("base = \"isaac\"\n[physical]\nadc_pj = \"2000000\"\n"))], args: &["plan", "--network", "digits", "--arch", "@adc.toml"], expect: &["adc.toml: field `physical.adc_pj`: 2000000 is out of range (minimum 0.000001, maximum 1000000)"] },
    Case { id: "phys-zero-energy", files: &[("e0.toml", Text("base = \"isaac\"\n[physical]\nbuffer_pj_per_bit = 0\n"))], args: &["plan", "--network", "digits", "--arch", "@e0.toml"], expect: &["e0.toml: field `physical.buffer_pj_per_bit`: 0 is out of range"] },
    Case { id: "phys-narrow-link", files: &[("link.toml", Text("base = \"isaac\"\n[physical]\nlink_bits_per_cycle = 4\n"))], args: &["plan", "--network", "digits", "--arch", "@link.toml"], expect: &["link.toml: field `physical.link_bits_per_cycle`: 4 is out of range (minimum 16, maximum 1048576)"] },
    Case { id: "phys-not-a-number", files: &[("word.toml", Text("base = \"isaac\"\n[physical]\nima_area_mm2 = \"small\"\n"))], args: &["plan", "--network", "digits", "--arch", "@word.toml"], expect: &["word.toml: field `physical.ima_area_mm2`: invalid value: string \"small\""] },
    Case { id: "phys-tile-mismatch", files: &[("tile.toml", Text("base = \"isaac\"\n[physical]\nimas_per_tile = 6\n"))], args: &["plan", "--network", "digits", "--arch", "@tile.toml"], expect: &["tile.toml: field `xbars_per_tile`: 96 must equal physical.xbars_per_ima x physical.imas_per_tile = 48"] },
    Case { id: "phys-not-a-table", files: &[("pt.toml", Text("base = \"isaac\"\nphysical = 3\n"))], args: &["plan", "--network", "digits", "--arch", "@pt.toml"], expect: &["pt.toml: field `physical`: must be a table of section 9.1 fields"] },
    Case { id: "phys-buffer-too-small", files: &[("buf.toml", Text("base = \"isaac\"\n[physical]\ntile_buffer_bytes = 64\n"))], args: &["plan", "--network", "digits", "--arch", "@buf.toml"], expect: &["layer `conv2`: its line buffers need 3072 bits but its tiles hold 512"] },
    Case { id: "arch-out-of-range", files: &[("adc0.toml", Text("base = \"isaac\"\nadc_bits = 0\n"))], args: &["plan", "--network", "digits", "--arch", "@adc0.toml"], expect: &["adc0.toml: field `adc_bits`: 0 is out of range (accepted 1..=32)"] },
    Case { id: "arch-wrong-type", files: &[("rows.toml", Text("base = \"isaac\"\nxbar_rows = \"128\"\n"))], args: &["plan", "--network", "digits", "--arch", "@rows.toml"], expect: &["rows.toml: field `xbar_rows`: invalid type: string \"128\", expected u32"] },
    Case { id: "arch-overflow", files: &[("adc300.toml", Text("base = \"isaac\"\nadc_bits = 300\n"))], args: &["plan", "--network", "digits", "--arch", "@adc300.toml"], expect: &["adc300.toml: field `adc_bits`: invalid value: integer `300`, expected u8"] },
    Case { id: "arch-unknown-field", files: &[("typo.toml", Text("base = \"isaac\"\nxbar_rowz = 3\n"))], args: &["plan", "--network", "digits", "--arch", "@typo.toml"], expect: &["typo.toml: unknown field `xbar_rowz`, expected one of `xbar_rows`"] },
    Case { id: "arch-missing-field", files: &[("part.toml", Text("xbar_rows = 128\n"))], args: &["plan", "--network", "digits", "--arch", "@part.toml"], expect: &["part.toml: missing field `xbar_cols` (give every field, or `base = \"isaac\"` to start from a preset)"] },
    Case { id: "arch-unknown-base", files: &[("base.toml", Text("base = \"nope\"\n"))], args: &["plan", "--network", "digits", "--arch", "@base.toml"], expect: &["base.toml: field `base`: unknown preset `nope`"] },
    Case { id: "arch-derived-base", files: &[("deep.toml", Text("base = \"isaac-noc\"\n"))], args: &["plan", "--network", "digits", "--arch", "@deep.toml"], expect: &["deep.toml: field `base`: preset `isaac-noc` is itself derived; name its base instead"] },
    Case { id: "arch-syntax", files: &[("syn.toml", Text("base = \"isaac\"\n[[x\n"))], args: &["plan", "--network", "digits", "--arch", "@syn.toml"], expect: &["syn.toml: invalid TOML: TOML parse error at line 2"] },
    Case { id: "arch-json-syntax", files: &[("cut.json", Text("{\"base\": \"isaac\","))], args: &["plan", "--network", "digits", "--arch", "@cut.json"], expect: &["cut.json: invalid JSON: EOF while parsing"] },
    Case { id: "arch-directory", files: &[("adir/x", Text(""))], args: &["plan", "--network", "digits", "--arch", "@adir"], expect: &["adir: cannot read: Is a directory"] },
    // --- precision files and --bits ---
    Case { id: "prec-bits-range", files: &[("p9.toml", Text("[layers]\nconv2 = \"9/8\"\n"))], args: &["plan", "--network", "digits", "--precisions", "@p9.toml"], expect: &["p9.toml: layer `conv2`: weight bits = 9 is out of range (1..=8)"] },
    Case { id: "prec-unknown-layer", files: &[("pn.toml", Text("[layers]\nconv9 = \"4/4\"\n"))], args: &["plan", "--network", "digits", "--precisions", "@pn.toml"], expect: &["pn.toml: layer `conv9`: no such layer in network `digits`"] },
    Case { id: "prec-other-network", files: &[("r18.json", Text("{\"layers\": [{\"name\": \"conv1\", \"w_bits\": 8, \"a_bits\": 8}, {\"name\": \"layer1.0.conv1\", \"w_bits\": 4, \"a_bits\": 4}]}"))], args: &["plan", "--network", "digits", "--precisions", "@r18.json"], expect: &["r18.json: layer `layer1.0.conv1`: no such layer in network `digits`"] },
    Case { id: "prec-listed-twice", files: &[("dup.json", Text("{\"layers\": [{\"name\": \"conv2\", \"w_bits\": 4, \"a_bits\": 4}, {\"name\": \"conv2\", \"w_bits\": 5, \"a_bits\": 5}]}"))], args: &["plan", "--network", "digits", "--precisions", "@dup.json"], expect: &["dup.json: layer `conv2`: listed twice"] },
    Case { id: "prec-missing-field", files: &[("pm.toml", Text("[layers]\nconv2 = { w_bits = 4 }\n"))], args: &["plan", "--network", "digits", "--precisions", "@pm.toml"], expect: &["pm.toml: layer `conv2`: missing `a_bits`"] },
    Case { id: "prec-wrong-type", files: &[("pi.toml", Text("[layers]\nconv2 = 4\n"))], args: &["plan", "--network", "digits", "--precisions", "@pi.toml"], expect: &["pi.toml: layer `conv2`: must be \"W/A\" or { w_bits = W, a_bits = A }"] },
    Case { id: "prec-overflow", files: &[("ph.toml", Text("[layers]\nconv2 = { w_bits = 4, a_bits = 99999999999999 }\n"))], args: &["plan", "--network", "digits", "--precisions", "@ph.toml"], expect: &["ph.toml: layer `conv2`: a_bits = 99999999999999 is out of range (1..=8)"] },
    Case { id: "prec-unknown-key", files: &[("pk.toml", Text("defualt = \"4/4\"\n"))], args: &["plan", "--network", "digits", "--precisions", "@pk.toml"], expect: &["pk.toml: unknown key `defualt` (known: default, layers)"] },
    Case { id: "prec-empty", files: &[("pe.toml", Text(""))], args: &["plan", "--network", "digits", "--precisions", "@pe.toml"], expect: &["pe.toml: sets neither `default` nor `layers`"] },
    Case { id: "prec-bad-default", files: &[("pd.toml", Text("default = \"4/x\"\n"))], args: &["plan", "--network", "digits", "--precisions", "@pd.toml"], expect: &["pd.toml: `default`: `4/x` is not W/A (e.g. 4/6)"] },
    Case { id: "prec-syntax", files: &[("ps.toml", Text("default = \"4/4\"\n[layers\n"))], args: &["plan", "--network", "digits", "--precisions", "@ps.toml"], expect: &["ps.toml: invalid precision file (line 2): unclosed table"] },
    Case { id: "prec-file-missing", files: &[], args: &["plan", "--network", "digits", "--precisions", "@none.toml"], expect: &["none.toml: cannot read: No such file or directory"] },
    Case { id: "prec-measured-1-bit", files: &[], args: &["eval", "--network", "digits", "--accuracy", "measured", "--bits", "1/4"], expect: &["layer `conv2`: w_bits = 1 is below the 2 weight bits the measured oracle quantizes to"] },
    Case { id: "bits-range", files: &[], args: &["plan", "--network", "digits", "--bits", "9/8"], expect: &["--bits: weight bits = 9 is out of range (1..=8)"] },
    Case { id: "bits-negative", files: &[], args: &["plan", "--network", "digits", "--bits", "-1/8"], expect: &["--bits: weight bits = -1 is out of range (1..=8)"] },
    Case { id: "bits-syntax", files: &[], args: &["plan", "--network", "digits", "--bits", "4/4/4"], expect: &["--bits: `4/4/4` is not W/A (e.g. 4/6)"] },
    // --- other command-line values ---
    Case { id: "cli-area-below-minimum", files: &[], args: &["plan", "--network", "digits", "--arch", "ideal", "--area-factor", "0.5"], expect: &["the budget of 6 crossbars (area factor 0.5) cannot hold `digits` at these precisions: the minimum area is 12 crossbars"] },
    Case { id: "cli-energy-on-ideal", files: &[], args: &["plan", "--network", "digits", "--arch", "ideal", "--objective", "energy"], expect: &["--objective energy: the energy and edp objectives need the physical model"] },
    Case { id: "cli-energy-milp", files: &[], args: &["search", "--network", "digits", "--objective", "edp", "--method", "milp", "--accuracy", "proxy"], expect: &["the joint MILP optimises latency or throughput; search the edp objective with rl or random"] },
    Case { id: "cli-area-below-minimum-imas", files: &[], args: &["plan", "--network", "resnet18", "--area-factor", "0.9"], expect: &["the budget of 325 IMAs (area factor 0.9) cannot hold `resnet18` at these precisions: the minimum area is 364 IMAs (area factor 1.0000)"] },
    Case { id: "cli-area-nan", files: &[], args: &["plan", "--network", "digits", "--area-factor", "nan"], expect: &["invalid value 'nan' for '--area-factor <F>': nan is outside (0, 1000]"] },
    Case { id: "cli-area-negative", files: &[], args: &["search", "--network", "digits", "--area-factor", "-1"], expect: &["invalid value '-1' for '--area-factor <F>': -1 is outside (0, 1000]"] },
    Case { id: "cli-not-a-number", files: &[], args: &["plan", "--network", "digits", "--alpha", "half"], expect: &["invalid value 'half' for '--alpha <ALPHA>': `half` is not a number"] },
    Case { id: "cli-unknown-choice", files: &[], args: &["plan", "--network", "digits", "--objective", "fast"], expect: &["invalid value 'fast' for '--objective <OBJECTIVE>'"] },
    Case { id: "cli-integer-range", files: &[], args: &["search", "--network", "digits", "--episodes", "0"], expect: &["invalid value '0' for '--episodes <EPISODES>': 0 is not in 1..=1000000"] },
    Case { id: "cli-integer-overflow", files: &[], args: &["search", "--network", "digits", "--seed", "99999999999999999999999"], expect: &["invalid value '99999999999999999999999' for '--seed <SEED>': number too large to fit in target type"] },
    Case { id: "cli-max-drop-negative", files: &[], args: &["search", "--network", "digits", "--max-drop", "-1"], expect: &["invalid value '-1' for '--max-drop <PCT>': -1 must be a finite number >= 0"] },
    Case { id: "cli-unknown-method", files: &[], args: &["search", "--network", "digits", "--method", "foo"], expect: &["invalid value 'foo' for '--method <METHOD>': unknown method `foo`"] },
    Case { id: "cli-unknown-oracle", files: &[], args: &["eval", "--network", "digits", "--accuracy", "foo"], expect: &["invalid value 'foo' for '--accuracy <ORACLE>': `foo` is not an accuracy oracle"] },
    Case { id: "cli-adc-bits", files: &[], args: &["eval", "--network", "digits", "--adc-bits", "0"], expect: &["--adc-bits: field `adc_bits` = 0 is out of range (accepted 1..=32)"] },
    Case { id: "cli-inferences", files: &[], args: &["run", "--plan", "@x.plan", "--inferences", "1"], expect: &["--inferences must be in 2..=32768"] },
    Case { id: "cli-empty-value", files: &[], args: &["plan", "--network", ""], expect: &["--network is empty: give a built-in name or a file"] },
    Case { id: "cli-missing-option", files: &[], args: &["plan"], expect: &["the following required arguments were not provided:", "--network <NAME|FILE>"] },
    Case { id: "cli-unknown-option", files: &[], args: &["plan", "--network", "digits", "--bogus"], expect: &["unexpected argument '--bogus' found"] },
    Case { id: "cli-bench-network", files: &[], args: &["bench", "--networks", "@nope", "--episodes", "1"], expect: &["nope: not a built-in network"] },
    Case { id: "cli-out-unwritable", files: &[], args: &["plan", "--network", "digits", "--out", "@no/such/dir.plan"], expect: &["--out ", "dir.plan: No such file or directory"] },
    Case { id: "cli-controller-limit", files: &[("many.csv", Gen(|| csv_of_layers(130)))], args: &["plan", "--network", "@many.csv", "--out", "@many.plan"], expect: &["many.plan: the controller cannot hold this plan: it holds 1..=128 layers"] },
    // --- plan files ---
    Case { id: "plan-missing", files: &[], args: &["run", "--plan", "@gone.plan"], expect: &["gone.plan: No such file or directory"] },
    Case { id: "plan-empty", files: &[("empty.plan", Text(""))], args: &["run", "--plan", "@empty.plan"], expect: &["empty.plan: not a valid lrmp plan file: Hit the end of buffer"] },
    Case { id: "plan-truncated", files: &[("cut.plan", Gen(|| plan_of("digits", |_| {})[..20].to_vec()))], args: &["run", "--plan", "@cut.plan"], expect: &["cut.plan: not a valid lrmp plan file: Hit the end of buffer"] },
    Case { id: "plan-trailing-bytes", files: &[("long.plan", Gen(|| [plan_of("digits", |_| {}), b"xx".to_vec()].concat()))], args: &["run", "--plan", "@long.plan"], expect: &["long.plan: not a valid lrmp plan file: 2 trailing bytes"] },
    Case { id: "plan-other-version", files: &[("v1.plan", Gen(|| plan_of("digits", |f| f.format_version = 1)))], args: &["run", "--plan", "@v1.plan"], expect: &["v1.plan: plan file format version 1, but this lrmp reads version 2"] },
    Case { id: "plan-not-a-plan", files: &[("net.plan", Text(DIGITS_CSV))], args: &["run", "--plan", "@net.plan"], expect: &["net.plan: plan file format version 110, but this lrmp reads version 2 (a plan from another lrmp version, or not a plan file)"] },
    Case { id: "plan-buffer-overflow", files: &[("buf.plan", Gen(|| plan_of("digits", |f| f.physical = Some(PhysicalParams { tile_buffer_bytes: 64, ..PhysicalParams::ISAAC }))))], args: &["run", "--plan", "@buf.plan"], expect: &["buf.plan: conv2: layer 1: line buffers need 3072 bits but its tiles hold 512"] },
    Case { id: "plan-tampered", files: &[("zero.plan", Gen(|| plan_of("digits", |f| f.layers[1].replication = 0)))], args: &["run", "--plan", "@zero.plan"], expect: &["zero.plan: conv2: "] },
    Case { id: "plan-tampered-arch", files: &[("arch.plan", Gen(|| plan_of("digits", |f| f.arch.adc_bits = 0)))], args: &["run", "--plan", "@arch.plan"], expect: &["arch.plan: arch: field `adc_bits` = 0 is out of range"] },
    Case { id: "plan-wrong-network", files: &[("vgg.plan", Gen(|| plan_of("vgg16", |_| {})))], args: &["run", "--plan", "@vgg.plan", "--functional"], expect: &["--functional needs a plan of a network with trained weights (digits, fashion);", "vgg.plan maps `vgg16`"] },
    Case { id: "plan-board-missing", files: &[("ok.plan", Gen(|| plan_of("digits", |_| {})))], args: &["run", "--plan", "@ok.plan", "--board", "@no-tty"], expect: &["no-tty: No such file or directory"] },
    // --- trained networks: data set and weights ---
    Case { id: "data-missing", files: &[], args: &["eval", "--network", "fashion", "--data-dir", "@nowhere"], expect: &["nowhere/train-images-idx3-ubyte.gz: not found (install the Debian package `dataset-fashion-mnist`, or point `--data-dir`"] },
    Case { id: "data-bad-magic", files: &[("fm/train-images-idx3-ubyte", Text("not an IDX file at all"))], args: &["eval", "--network", "fashion", "--data-dir", "@fm"], expect: &["fm/train-images-idx3-ubyte: magic number 0x6e6f7420, expected 0x00000803 (a corrupt copy? reinstall `dataset-fashion-mnist`)"] },
    Case { id: "data-truncated", files: &[("fm/train-images-idx3-ubyte", Bytes(&[0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]))], args: &["eval", "--network", "fashion", "--data-dir", "@fm"], expect: &["fm/train-images-idx3-ubyte: the header announces 47040000 data bytes but the file holds 3 (truncated or padded)"] },
    Case { id: "weights-other-network", files: &[("w.json", Text(DIGITS_WEIGHTS))], args: &["eval", "--network", "fashion", "--weights", "@w.json"], expect: &["w.json: the weights are for network `digits`, not `fashion`"] },
    Case { id: "weights-wrong-shape", files: &[("w.json", Gen(|| DIGITS_WEIGHTS.replacen("\"shape\": [16,1,3,3]", "\"shape\": [16,1,3,4]", 1).into_bytes()))], args: &["eval", "--network", "digits", "--weights", "@w.json"], expect: &["w.json: layer `conv1`: shape [16, 1, 3, 4], the network needs [16, 1, 3, 3]"] },
    Case { id: "weights-not-a-network", files: &[], args: &["eval", "--network", "resnet18", "--accuracy", "measured"], expect: &["network `resnet18` has no trained weights, so accuracy cannot be measured"] },
    Case { id: "finetune-diverges", files: &[], args: &["eval", "--network", "digits", "--bits", "3/3", "--finetune-steps", "5", "--finetune-lr", "1e12"], expect: &["fine-tuning diverged: the loss is", "at step 1 of 5", "lower the learning rate"] },
    Case { id: "finetune-lr-zero", files: &[], args: &["eval", "--network", "digits", "--finetune-steps", "5", "--finetune-lr", "0"], expect: &["invalid value '0' for '--finetune-lr <LR>': `0` is not a positive learning rate"] },
    // --- external accuracy evaluators ---
    Case { id: "ext-fails", files: &[], args: &["eval", "--network", "digits", "--accuracy", "external:echo 'model file missing' >&2; exit 3"], expect: &["failed with exit code 3; stderr ends with:", "model file missing"] },
    Case { id: "ext-not-found", files: &[], args: &["eval", "--network", "digits", "--accuracy", "external:/nonexistent/evaluator"], expect: &["external evaluator `/nonexistent/evaluator` failed with exit code 127", "not found"] },
    Case { id: "ext-garbage", files: &[], args: &["eval", "--network", "digits", "--accuracy", "external:echo accuracy is 97%"], expect: &["printed an invalid answer (not a JSON object:", "stdout began with: \"accuracy is 97%"] },
    Case { id: "ext-out-of-range", files: &[], args: &["eval", "--network", "digits", "--accuracy", "external:echo '{\"accuracy_drop\": 1000}'"], expect: &["printed an invalid answer (accuracy_drop 1000 is not in -100..=100)"] },
    Case { id: "ext-hangs", files: &[], args: &["eval", "--network", "digits", "--accuracy", "external:echo started >&2; sleep 30", "--external-timeout", "1"], expect: &["did not answer within 1 s and was killed; stderr ends with:", "started"] },
    Case { id: "ext-killed", files: &[], args: &["eval", "--network", "digits", "--accuracy", "external:kill -9 $$"], expect: &["external evaluator `kill -9 $$` was killed by a signal"] },
    Case { id: "ext-floods", files: &[], args: &["eval", "--network", "digits", "--accuracy", "external:head -c 3000000 /dev/zero"], expect: &["printed an invalid answer (more than 1048576 bytes on stdout)"] },
    Case { id: "ext-in-search", files: &[], args: &["search", "--network", "digits", "--method", "uniform4", "--accuracy", "external:exit 5"], expect: &["failed with exit code 5"] },
];

/// Row ids tested at the library level in `bad_input_frames.rs`.
const LIBRARY_ROWS: &[&str] = bad_input_frames::ROWS;

/// A fresh directory for one case.
fn temp_dir(id: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lrmp-bad-input-{}-{n}-{id}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs `lrmp` with `args` in `dir`, killing it at [`DEADLINE`]: `(exit code, stderr)`.
fn run_lrmp(dir: &Path, args: &[String]) -> Result<(Option<i32>, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start lrmp: {e}"))?;
    let mut pipe = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("hung: killed after {DEADLINE:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("wait failed: {e}")),
        }
    };
    Ok((status.code(), reader.join().unwrap_or_default()))
}

/// Runs one case; `Err` says how it broke the contract.
fn check(case: &Case) -> Result<(), String> {
    let dir = temp_dir(case.id);
    for (name, src) in case.files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let bytes = match src {
            Text(t) => t.as_bytes().to_vec(),
            Bytes(b) => b.to_vec(),
            Gen(f) => f(),
        };
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    }
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| match a.strip_prefix('@') {
            Some(name) => dir.join(name).display().to_string(),
            None => a.to_string(),
        })
        .collect();
    let (code, stderr) = run_lrmp(&dir, &args)?;
    let _ = std::fs::remove_dir_all(&dir);
    let mut problems = Vec::new();
    if code != Some(2) {
        problems.push(format!("exit code {code:?}, not 2"));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        problems.push("panicked".to_string());
    }
    if !stderr.starts_with("error: ") {
        problems.push("stderr does not start with `error: `".to_string());
    }
    for fragment in case.expect {
        if !stderr.contains(fragment) {
            problems.push(format!("stderr lacks {fragment:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n    stderr: {}", problems.join("; "), stderr.trim_end()))
    }
}

#[test]
fn every_cli_row_exits_2_and_names_the_fault() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| check(case).err().map(|e| format!("{}: {e}", case.id)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows broke the contract:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// The rows of `docs/bad-input.md`: id and the raw text of the row.
fn catalogue() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/bad-input.md"))
        .expect("docs/bad-input.md exists");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("| `")?;
            let (id, _) = rest.split_once("` |")?;
            Some((id.to_string(), line.replace("\\|", "|")))
        })
        .collect()
}

#[test]
fn catalogue_and_cases_agree() {
    let rows = catalogue();
    let documented: BTreeSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        documented.len(),
        rows.len(),
        "a row id appears twice in docs/bad-input.md"
    );
    let mut tested: BTreeSet<&str> = LIBRARY_ROWS.iter().copied().collect();
    for case in CASES {
        assert!(tested.insert(case.id), "case `{}` appears twice", case.id);
    }
    let untested: Vec<_> = documented.difference(&tested).collect();
    let undocumented: Vec<_> = tested.difference(&documented).collect();
    assert!(untested.is_empty(), "rows without a test: {untested:?}");
    assert!(undocumented.is_empty(), "tests without a row: {undocumented:?}");
    for case in CASES {
        let (_, row) = rows.iter().find(|(id, _)| id == case.id).expect("documented");
        for fragment in case.expect {
            assert!(
                row.contains(fragment),
                "row `{}` does not show the message fragment {fragment:?}",
                case.id
            );
        }
    }
}
