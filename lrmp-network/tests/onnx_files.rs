//! The committed weight-stripped ONNX exports (`data/onnx/`) import, and the torchvision
//! ResNet-18 and MobileNet-V2 give the built-in networks' layers.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use lrmp_network::onnx::{import, ImportOptions};

fn load(name: &str) -> lrmp_network::onnx::Import {
    load_with(name, &ImportOptions::default())
}

fn load_with(name: &str, options: &ImportOptions) -> lrmp_network::onnx::Import {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/onnx")
        .join(format!("{name}.onnx"));
    let bytes = std::fs::read(&path).unwrap();
    import(&bytes, &path.display().to_string(), name, options).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn committed_exports_import() {
    for (name, layers) in [
        ("resnet18", 21),
        ("mobilenet_v2", 53),
        ("squeezenet1_1", 26),
        ("efficientnet_b0", 82),
        ("shufflenet_v2_x0_5", 57),
    ] {
        let imp = load(name);
        assert_eq!(imp.network.layers.len(), layers, "{name}");
        assert_eq!(imp.origins.len(), layers);
    }
}

#[test]
fn torchvision_exports_equal_the_builtins() {
    for (file, builtin) in [("resnet18", "resnet18"), ("mobilenet_v2", "mobilenetv2")] {
        let imported = load(file).network;
        let built = lrmp_network::builtin(builtin).unwrap();
        let shapes = |n: &lrmp_network::Network| {
            n.layers
                .iter()
                .map(|l| (l.shape, l.stride, l.padding))
                .collect::<Vec<_>>()
        };
        assert_eq!(shapes(&imported), shapes(&built), "{file}");
    }
}

#[test]
fn the_probe_needs_an_input_shape() {
    let options = ImportOptions {
        input_shape: Some([3, 32, 32]),
    };
    let imp = load_with("probe", &options);
    let dims: Vec<_> = imp.network.layers.iter().map(|l| l.shape.dims()).collect();
    // Stem: pads (1, 0), stride 2 -> 16x15; dilated grouped 3x3 keeps 16x15; fc over
    // 16 channels of the 2x-upsampled, 2x-pooled 16x15 map.
    assert_eq!((dims[0].out_h, dims[0].out_w), (16, 15));
    assert_eq!((dims[1].out_h, dims[1].out_w, dims[1].groups), (16, 15, 4));
    assert_eq!(imp.origins[1].dilation, (2, 2));
    assert_eq!((dims[2].c_in, dims[2].c_out), (16 * 16 * 15, 10));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/onnx/probe.onnx");
    let e = lrmp_network::load(path.to_str().unwrap()).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("dim[2]"), "{e}");
}
