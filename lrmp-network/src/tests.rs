//! Unit tests of the built-in networks as a whole and of [`load`] dispatch.

use super::*;

#[test]
fn every_builtin_builds() {
    for name in BUILTIN {
        let net = build(name).unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(net.name, *name);
        assert_eq!(builtin(name).as_ref(), Some(&net));
        assert_eq!(load(name).as_ref(), Ok(&net));
    }
    assert_eq!(builtin("resnet101"), None);
}

/// Weights only (no biases, no batch-norm parameters). Expected values are torchvision's
/// published parameter totals (resnet18 11,689,512; resnet34 21,797,672; resnet50
/// 25,557,032; vgg16 138,357,544; mobilenet_v2 3,504,872) minus two parameters per
/// batch-norm channel and the biases of the layers that have one.
#[test]
fn weight_counts_match_published_parameter_totals() {
    let expected = [
        ("resnet18", 11_689_512 - 2 * 4_800 - 1_000),
        ("resnet34", 21_797_672 - 2 * 8_512 - 1_000),
        ("resnet50", 25_557_032 - 2 * 26_560 - 1_000),
        ("vgg16", 138_357_544 - 13_416),
        ("mobilenetv2", 3_504_872 - 2 * 17_056 - 1_000),
        // 1*9*16 + 16*9*32 + 512*64 + 64*10.
        ("digits", 38_160),
    ];
    for (name, weights) in expected {
        assert_eq!(builtin(name).unwrap().total_weights(), weights, "{name}");
    }
}

#[test]
fn unknown_name_lists_the_builtins() {
    let e = load("resnet1000").unwrap_err();
    assert_eq!(e.source, "resnet1000");
    for name in BUILTIN {
        assert!(e.message.contains(name), "{e}");
    }
}

#[test]
fn unknown_extension_is_refused() {
    let path = std::env::temp_dir().join(format!("lrmp-net-{}.pb", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let e = load(path.to_str().unwrap()).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(e.message.contains(".onnx, .json"), "{e}");
}

#[test]
fn onnx_files_dispatch_to_the_onnx_importer() {
    let path = std::env::temp_dir().join(format!("lrmp-net-{}.onnx", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let e = load(path.to_str().unwrap()).unwrap_err();
    assert!(e.message.starts_with("not a valid ONNX model"), "{e}");
    let shape = onnx::ImportOptions {
        input_shape: Some([3, 8, 8]),
    };
    let e = load_with(path.to_str().unwrap(), &shape).unwrap_err();
    assert!(e.message.starts_with("not a valid ONNX model"), "{e}");
    std::fs::remove_file(&path).unwrap();
    let e = load_with("digits", &shape).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("input_shape"), "{e}");
}

#[test]
fn network_new_refuses_empty_and_duplicates() {
    assert!(Network::new("n", "s", Vec::new()).is_err());
    let fc = builtin("digits").unwrap().layers[3].clone();
    let e = Network::new("n", "s", vec![fc.clone(), fc]).unwrap_err();
    assert_eq!((e.layer.as_deref(), e.field.as_deref()), (Some("fc2"), Some("name")));
}
