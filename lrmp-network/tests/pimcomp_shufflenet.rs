//! PIMCOMP-NN's ShuffleNet graph (`data/pimcomp-json/shufflenet.json`) imports: its
//! `OP_SHUFFLE` channel shuffles carry no weights and keep their input's shape.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use lrmp_network::pimcomp::parse;

const SHUFFLENET: &str = include_str!("../../data/pimcomp-json/shufflenet.json");

#[test]
fn shufflenet_imports() {
    let net = parse(SHUFFLENET, "shufflenet.json", "shufflenet").unwrap_or_else(|e| panic!("{e}"));
    // Stem conv, 16 units of (1x1 group conv, depthwise 3x3, 1x1 group conv), the classifier.
    assert_eq!(net.layers.len(), 1 + 16 * 3 + 1);
    let depthwise = net.layers.iter().filter(|l| l.shape.is_depthwise()).count();
    assert_eq!(depthwise, 16);
    let grouped = net.layers.iter().filter(|l| l.shape.dims().groups == 4).count();
    assert_eq!(grouped, 32);
    let last = net.layers.last().unwrap().shape.dims();
    assert_eq!((last.c_in, last.c_out), (544, 1000));
}

#[test]
fn a_shuffle_that_changes_the_shape_is_refused() {
    let broken = SHUFFLENET.replacen(
        "\"operation\": \"OP_SHUFFLE\",\n            \"output_dim_num\": 4,\n            \"output_dim\": [\n                1,\n                112,",
        "\"operation\": \"OP_SHUFFLE\",\n            \"output_dim_num\": 4,\n            \"output_dim\": [\n                1,\n                113,",
        1,
    );
    assert_ne!(broken, SHUFFLENET);
    let e = parse(&broken, "s.json", "s").unwrap_err();
    assert_eq!(
        (e.layer.as_deref(), e.field.as_deref()),
        (Some("gpu_0/shuffle_0_1"), Some("output_dim")),
        "{e}"
    );
}
