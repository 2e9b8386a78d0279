//! ONNX import (`lrmp_network::onnx::import`) on arbitrary bytes, with and without an
//! input shape (the first byte chooses).
//!
//! Checks: nothing panics; an imported network meets `lrmp_fuzz::check_network`, and has
//! one origin per layer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lrmp_network::onnx::{import, ImportOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else {
        return;
    };
    let options = ImportOptions {
        input_shape: (choice & 1 == 1).then_some([3, 16, 16]),
    };
    if let Ok(imported) = import(bytes, "fuzz.onnx", "fuzz", &options) {
        assert_eq!(imported.origins.len(), imported.network.layers.len());
        lrmp_fuzz::check_network(&imported.network);
    }
});
