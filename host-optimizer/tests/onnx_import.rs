//! ONNX import end to end: the weight-stripped torchvision exports in `data/onnx/` give the
//! built-in networks' layers, every committed graph plans with a report that passes the
//! independent recomputation of DESIGN section 3, `lrmp import` writes a TOML table that
//! re-imports to the same network, and PIMCOMP-NN's ShuffleNet graph imports.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/recompute.rs"]
mod recompute;

use host_optimizer::network::{self, onnx::ImportOptions, Network};
use recompute::{check_physical_report, check_report, lrmp, plan_json};

fn data(path: &str) -> String {
    format!("{}/../data/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Every committed ONNX file, its layer count and the `--input-shape` it needs.
const FILES: &[(&str, usize, Option<&str>)] = &[
    ("resnet18", 21, None),
    ("mobilenet_v2", 53, None),
    ("squeezenet1_1", 26, None),
    ("efficientnet_b0", 82, None),
    ("shufflenet_v2_x0_5", 57, None),
    ("probe", 3, Some("3,32,32")),
];

fn shapes(net: &Network) -> Vec<String> {
    net.layers
        .iter()
        .map(|l| format!("{:?} stride {:?} pad {:?}", l.shape, l.stride, l.padding))
        .collect()
}

#[test]
fn torchvision_resnet18_and_mobilenet_v2_equal_the_builtins() {
    for (file, builtin) in [("resnet18", "resnet18"), ("mobilenet_v2", "mobilenetv2")] {
        let imported = network::load(&data(&format!("onnx/{file}.onnx"))).unwrap();
        let built = network::builtin(builtin).unwrap();
        assert_eq!(shapes(&imported), shapes(&built), "{file}");
    }
}

#[test]
fn every_onnx_file_plans_and_its_report_follows_the_cost_model() {
    for &(file, layers, shape) in FILES {
        let path = data(&format!("onnx/{file}.onnx"));
        let mut args = vec!["--network", path.as_str()];
        if let Some(s) = shape {
            args.extend(["--input-shape", s]);
        }
        let ideal = [args.as_slice(), &["--arch", "ideal"]].concat();
        let report = plan_json(&ideal);
        assert_eq!(report["layers"].as_array().map(Vec::len), Some(layers), "{file}");
        check_report(&report);
        let wider = [ideal.as_slice(), &["--area-factor", "2", "--objective", "throughput"]].concat();
        check_report(&plan_json(&wider));
        // The default, physical preset (DESIGN section 9).
        let physical = [args.as_slice(), &["--area-factor", "2", "--objective", "throughput"]].concat();
        check_physical_report(&plan_json(&physical));
    }
}

#[test]
fn pimcomp_shufflenet_imports_and_plans() {
    let path = data("pimcomp-json/shufflenet.json");
    let report = plan_json(&["--network", path.as_str(), "--arch", "ideal"]);
    assert_eq!(report["layers"].as_array().map(Vec::len), Some(50));
    check_report(&report);
    check_physical_report(&plan_json(&["--network", path.as_str(), "--area-factor", "1.5"]));
}

#[test]
fn import_writes_a_table_that_reimports_to_the_same_network() {
    let dir = std::env::temp_dir().join(format!("lrmp-onnx-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for &(file, layers, shape) in FILES {
        let path = data(&format!("onnx/{file}.onnx"));
        let toml = dir.join(format!("{file}.toml"));
        let toml_path = toml.to_str().unwrap();
        let mut args = vec!["import", path.as_str(), "--out", toml_path];
        if let Some(s) = shape {
            args.extend(["--input-shape", s]);
        }
        let out = lrmp(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("{layers} mappable layers")), "{stdout}");
        assert!(stdout.contains("operations skipped:"), "{stdout}");
        let options = ImportOptions {
            input_shape: shape.map(|s| {
                let v: Vec<u32> = s.split(',').map(|x| x.parse().unwrap()).collect();
                [v[0], v[1], v[2]]
            }),
        };
        let onnx = network::load_with(&path, &options).unwrap();
        let table = network::load(toml_path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(table.name, onnx.name);
        if file == "probe" {
            // Asymmetric padding and dilation: the table keeps shapes, with an adjusted padding.
            let dims = |n: &Network| n.layers.iter().map(|l| (l.name.clone(), l.shape)).collect::<Vec<_>>();
            assert_eq!(dims(&table), dims(&onnx));
            assert!(String::from_utf8_lossy(&out.stderr).contains("note: layer"));
        } else {
            assert_eq!(table, onnx, "{file}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn import_lists_skipped_operations_with_their_reason() {
    let out = lrmp(&["import", &data("onnx/resnet18.onnx")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("Relu x17: activation: no weights"), "{stdout}");
    assert!(
        stdout.contains("MaxPool x1: pooling or reduction: no weights"),
        "{stdout}"
    );
    assert!(stdout.contains("/fc/Gemm"), "{stdout}");
}
