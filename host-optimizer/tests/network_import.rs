//! Network import end to end: the PIMCOMP-NN files in `data/pimcomp-json/` against the
//! built-in networks, the layer-table fixtures against the built-in `digits`, and one test
//! per class of bad input, each checking that the error names the file, the layer and the
//! field (and that nothing panics).

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use host_optimizer::network::{self, Layer, Network, NetworkError};
use imc_model::LayerKind;
use proptest::prelude::*;
use serde_json::{json, Value};

const RESNET18_JSON: &str = include_str!("../../data/pimcomp-json/resnet18.json");

fn data_file(name: &str) -> String {
    format!("{}/../data/pimcomp-json/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Everything the cost model and the runtime see of a layer, without its name.
type Key = (LayerKind, [u32; 9], (u32, u32), (u32, u32));

fn key(layer: &Layer) -> Key {
    let d = layer.shape.dims();
    let numbers = [
        d.c_in, d.c_out, d.kernel_h, d.kernel_w, d.groups, d.in_h, d.in_w, d.out_h, d.out_w,
    ];
    (d.kind, numbers, layer.stride, layer.padding)
}

fn keys(net: &Network) -> Vec<Key> {
    net.layers.iter().map(key).collect()
}

fn imported(name: &str) -> Network {
    network::load(&data_file(&format!("{name}.json"))).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pimcomp_vgg16_and_mobilenetv2_equal_the_builtins_layer_by_layer() {
    for name in ["vgg16", "mobilenetv2"] {
        let file = imported(name);
        let builtin = network::builtin(name).unwrap();
        assert_eq!(file.name, name);
        assert_eq!(keys(&file), keys(&builtin), "{name}");
    }
}

/// The file lists each projection shortcut before the block's first convolution (both
/// read the block input, so either order is a valid execution order); torchvision lists
/// it after the main path. Main path and shortcuts are compared as sequences.
#[test]
fn pimcomp_resnet18_equals_the_builtin_up_to_shortcut_order() {
    let file = imported("resnet18");
    let builtin = network::builtin("resnet18").unwrap();
    let is_shortcut = |l: &&Layer| {
        let d = l.shape.dims();
        d.kind == LayerKind::Conv && d.kernel_h == 1 && l.stride == (2, 2)
    };
    let split = |net: &Network| -> (Vec<Key>, Vec<Key>) {
        let (short, main): (Vec<&Layer>, Vec<&Layer>) = net.layers.iter().partition(is_shortcut);
        (
            main.into_iter().map(key).collect(),
            short.into_iter().map(key).collect(),
        )
    };
    let (file_main, file_short) = split(&file);
    let (builtin_main, builtin_short) = split(&builtin);
    assert_eq!(file_main, builtin_main);
    assert_eq!(file_short, builtin_short);
    assert_eq!(builtin_short.len(), 3);
    let shortcut_names: Vec<_> = builtin
        .layers
        .iter()
        .filter(is_shortcut)
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(
        shortcut_names,
        ["layer2.0.downsample", "layer3.0.downsample", "layer4.0.downsample"]
    );
    assert_eq!(file.layers.len(), 21);
    assert_eq!(file.total_weights(), builtin.total_weights());
}

#[test]
fn table_fixtures_equal_the_builtin_digits() {
    let dir = format!("{}/tests/fixtures/networks", env!("CARGO_MANIFEST_DIR"));
    let digits = network::builtin("digits").unwrap();
    for ext in ["csv", "toml"] {
        let net = network::load(&format!("{dir}/digits.{ext}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(net, digits, "{ext}");
    }
}

// ----- bad input -------------------------------------------------------------------

/// Writes `text` to a fresh temporary file and loads it.
fn load_text(file_name: &str, text: &str) -> (String, NetworkError) {
    let dir = std::env::temp_dir().join(format!("lrmp-network-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(file_name);
    std::fs::write(&path, text).unwrap();
    let spec = path.to_str().unwrap().to_owned();
    let result = network::load(&spec);
    std::fs::remove_file(&path).unwrap();
    match result {
        Ok(net) => panic!("{file_name} loaded as {} layers", net.layers.len()),
        Err(e) => (spec, e),
    }
}

fn assert_names(file_name: &str, text: &str, layer: Option<&str>, field: Option<&str>) -> NetworkError {
    let (spec, e) = load_text(file_name, text);
    assert_eq!(e.source, spec, "{e}");
    assert_eq!((e.layer.as_deref(), e.field.as_deref()), (layer, field), "{e}");
    assert!(e.to_string().contains(file_name), "{e}");
    e
}

/// resnet18.json with one change applied to node `index`.
fn resnet18_with(index: usize, change: impl FnOnce(&mut Value)) -> String {
    let mut doc: Value = serde_json::from_str(RESNET18_JSON).unwrap();
    change(&mut doc["node_list"][index]);
    doc.to_string()
}

const CONV0: &str = "resnetv15_conv0_fwd";
const STAGE1_CONV0: &str = "resnetv15_stage1_conv0_fwd";

#[test]
fn json_missing_fields() {
    let text = resnet18_with(1, |n| drop(n["param"].as_object_mut().unwrap().remove("kernel_h")));
    assert_names("missing_kernel.json", &text, Some(CONV0), Some("param.kernel_h"));
    let text = resnet18_with(5, |n| drop(n.as_object_mut().unwrap().remove("operation")));
    assert_names(
        "missing_op.json",
        &text,
        Some("resnetv15_stage1__plus0"),
        Some("operation"),
    );
    let text = resnet18_with(40, |n| drop(n.as_object_mut().unwrap().remove("input_dim")));
    assert_names(
        "missing_dim.json",
        &text,
        Some("resnetv15_dense0_fwd"),
        Some("input_dim"),
    );
    assert_names("no_nodes.json", "{\"nodes\": []}", None, Some("node_list"));
    let e = assert_names("truncated.json", &RESNET18_JSON[..500], None, None);
    assert!(e.message.contains("line"), "{e}");
}

#[test]
fn json_zero_or_negative_dims() {
    let text = resnet18_with(1, |n| n["input_dim"] = json!([1, 3, 0, 224]));
    assert_names("zero_dim.json", &text, Some(CONV0), Some("input_dim"));
    let text = resnet18_with(3, |n| n["output_dim"] = json!([1, 64, -56, 56]));
    assert_names("negative_dim.json", &text, Some(STAGE1_CONV0), Some("output_dim"));
    let text = resnet18_with(1, |n| n["param"]["stride_h"] = json!(-2));
    assert_names("negative_stride.json", &text, Some(CONV0), Some("param.stride_h"));
    let text = resnet18_with(1, |n| n["param"]["output_channel"] = json!(0));
    assert_names("zero_channels.json", &text, Some(CONV0), Some("param.output_channel"));
}

#[test]
fn json_channels_not_divisible_by_groups() {
    let text = resnet18_with(3, |n| n["param"]["group"] = json!(3));
    let e = assert_names("groups.json", &text, Some(STAGE1_CONV0), Some("param.input_channel"));
    assert!(e.message.contains("divisible"), "{e}");
}

#[test]
fn json_unknown_operation() {
    let text = resnet18_with(6, |n| n["operation"] = json!("OP_GELU"));
    let e = assert_names(
        "unknown_op.json",
        &text,
        Some("resnetv15_stage1_activation0"),
        Some("operation"),
    );
    assert!(e.message.contains("OP_GELU"), "{e}");
}

#[test]
fn json_cycle() {
    // stage1 conv1 (node 4) feeds back into stage1 conv0 (node 3).
    let mut doc: Value = serde_json::from_str(RESNET18_JSON).unwrap();
    doc["node_list"][4]["consumer_index"] = json!([5, 3]);
    doc["node_list"][3]["provider_index"] = json!([2, 4]);
    let (_, e) = load_text("cycle.json", &doc.to_string());
    assert!(e.message.contains("cycle"), "{e}");
    let on_cycle = ["resnetv15_stage1_conv0_fwd", "resnetv15_stage1_conv1_fwd"];
    assert!(on_cycle.contains(&e.layer.as_deref().unwrap_or("")), "{e}");
    assert_eq!(e.field.as_deref(), Some("provider_index"));
}

#[test]
fn json_dangling_or_one_sided_edges() {
    let text = resnet18_with(3, |n| n["provider_index"] = json!([2, 99]));
    let e = assert_names("dangling.json", &text, Some(STAGE1_CONV0), Some("provider_index"));
    assert!(e.message.contains("99"), "{e}");
    let text = resnet18_with(2, |n| n["consumer_index"] = json!([3]));
    assert_names(
        "one_sided.json",
        &text,
        Some("resnetv15_stage1__plus0"),
        Some("provider_index"),
    );
}

#[test]
fn json_dims_inconsistent_with_parameters() {
    let text = resnet18_with(1, |n| n["output_dim"] = json!([1, 64, 113, 112]));
    assert_names("bad_output.json", &text, Some(CONV0), Some("output_dim"));
    let text = resnet18_with(1, |n| n["param"]["input_channel"] = json!(4));
    assert_names("bad_channels.json", &text, Some(CONV0), Some("input_dim"));
    let text = resnet18_with(3, |n| n["input_dim"] = json!([1, 64, 28, 28]));
    let e = assert_names("bad_input.json", &text, Some(STAGE1_CONV0), Some("input_dim"));
    assert!(e.message.contains("resnetv15_pool0_fwd"), "{e}");
    let text = resnet18_with(40, |n| n["param"]["num_input"] = json!(500));
    assert_names("bad_fc.json", &text, Some("resnetv15_dense0_fwd"), Some("input_dim"));
}

const HEADER: &str = "name,kind,c_in,c_out,kernel,stride,padding,groups,in_h,in_w\n";

#[test]
fn csv_bad_line() {
    let text = format!("{HEADER}a,conv,3,8,3,1,1,1,8,8\nb,conv,8,8,3,1,1,1,8,8,9\n");
    let e = assert_names("long_line.csv", &text, Some("line 3"), None);
    assert!(e.message.contains("11 fields"), "{e}");
}

#[test]
fn table_missing_zero_negative_and_unknown_fields() {
    assert_names(
        "missing.csv",
        &format!("{HEADER}a,conv,3,,3,1,1,1,8,8\n"),
        Some("a"),
        Some("c_out"),
    );
    assert_names(
        "zero.csv",
        &format!("{HEADER}a,conv,0,8,3,1,1,1,8,8\n"),
        Some("a"),
        Some("c_in"),
    );
    assert_names(
        "negative.csv",
        &format!("{HEADER}a,conv,3,8,3,-1,1,1,8,8\n"),
        Some("a"),
        Some("stride"),
    );
    assert_names(
        "zero_in.csv",
        &format!("{HEADER}a,conv,3,8,3,1,1,1,0,8\n"),
        Some("a"),
        Some("in_h"),
    );
    assert_names(
        "window.csv",
        &format!("{HEADER}a,conv,3,8,9,1,0,1,4,4\n"),
        Some("a"),
        Some("kernel_h"),
    );
    assert_names(
        "typo.csv",
        "name,kind,c_in,c_out,kernal\n",
        Some("header"),
        Some("kernal"),
    );
    let toml = "[[layer]]\nname = \"a\"\nkind = \"fc\"\nc_in = \"many\"\nc_out = 3\n";
    assert_names("string.toml", toml, Some("a"), Some("c_in"));
    let toml = "[[layer]]\nname = \"a\"\nkind = \"fc\"\nc_in = 2.5\nc_out = 3\n";
    assert_names("float.toml", toml, Some("a"), Some("c_in"));
    assert_names("no_layers.toml", "name = \"x\"\n", None, Some("layer"));
    assert_names("broken.toml", "[[layer]\n", None, None);
    assert_names("empty.csv", HEADER, None, None);
}

#[test]
fn table_channels_not_divisible_by_groups() {
    let e = assert_names(
        "groups.csv",
        &format!("{HEADER}a,conv,6,8,3,1,1,4,8,8\n"),
        Some("a"),
        Some("c_in"),
    );
    assert!(e.message.contains("divisible"), "{e}");
    let e = assert_names(
        "groups_out.csv",
        &format!("{HEADER}a,conv,8,6,3,1,1,4,8,8\n"),
        Some("a"),
        Some("c_out"),
    );
    assert!(e.message.contains("divisible"), "{e}");
}

#[test]
fn duplicate_layer_names_are_refused() {
    let text = format!("{HEADER}a,conv,3,8,3,1,1,1,8,8\na,conv,8,8,3,1,1,1,8,8\n");
    assert_names("dup.csv", &text, Some("a"), Some("name"));
}

// ----- properties --------------------------------------------------------------------

proptest! {
    /// The derived output size is the number of window positions: the last window fits
    /// the padded input and one more stride would not.
    #[test]
    fn derived_output_is_the_number_of_window_positions(
        input in 1u32..300, kernel in 1u32..12, stride in 1u32..6, pad in 0u32..6,
    ) {
        prop_assume!(input + 2 * pad >= kernel);
        let text = format!("{HEADER}a,conv,4,8,{kernel},{stride},{pad},1,{input},{input}\n");
        let net = network::table::parse_csv(&text, "p.csv", "p").unwrap();
        let out = net.layers[0].shape.dims().out_h;
        prop_assert!((out - 1) * stride + kernel <= input + 2 * pad);
        prop_assert!(out * stride + kernel > input + 2 * pad);
    }

    /// Any integer written into any field of any node gives a network or an error naming
    /// the file, never a panic.
    #[test]
    fn corrupted_pimcomp_never_panics(
        node in 0usize..41, field in 0usize..8, value in -3i64..300, nested in any::<bool>(),
    ) {
        let keys = ["kernel_h", "stride_w", "group", "pad_h0", "input_channel", "num_input", "index", "output_channel"];
        let text = resnet18_with(node, |n| {
            if nested && n.get("param").is_some() {
                n["param"][keys[field]] = json!(value);
            } else {
                let top = ["index", "provider_index", "consumer_index", "input_dim", "output_dim", "name", "operation", "param"];
                n[top[field]] = if field < 3 { json!([value]) } else { json!(value) };
            }
        });
        if let Err(e) = network::pimcomp::parse(&text, "r.json", "r") {
            prop_assert_eq!(e.source, "r.json");
        }
    }

    /// Arbitrary text never panics either importer.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = network::table::parse_csv(&text, "a.csv", "a");
        let _ = network::table::parse_toml(&text, "a.toml", "a");
        let _ = network::pimcomp::parse(&text, "a.json", "a");
    }
}
