//! Plan decoding and validation: bytes as a postcard `PlanHeader` followed by postcard
//! `PlanLayer`s (what `PlanBegin` and `PlanChunk` frames carry), validated whole and layer
//! by layer as a controller does.
//!
//! Checks: nothing panics; whole and chunked validation agree; a plan that validates meets
//! every documented plan invariant (`lrmp_fuzz::check_plan`) and, when small enough to run
//! in milliseconds, runs in both modes with the documented outcomes.
#![no_main]

use imc_model::runtime::{Plan, PlanBuilder, PlanHeader, PlanLayer, MAX_LAYERS};
use imc_model::wire::CHUNK_LAYERS;
use libfuzzer_sys::fuzz_target;

/// Replica-batches above which a valid plan is not run (keeps one input in milliseconds).
const RUN_WORK: u64 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Ok((header, mut rest)) = postcard::take_from_bytes::<PlanHeader>(data) else {
        return;
    };
    let mut layers = Vec::new();
    while let Ok((layer, tail)) = postcard::take_from_bytes::<PlanLayer>(rest) {
        layers.push(layer);
        rest = tail;
        if layers.len() > MAX_LAYERS {
            break;
        }
    }
    let whole = Plan::new(header, &layers);
    let chunked = PlanBuilder::new(header).and_then(|mut builder| {
        for chunk in layers.chunks(CHUNK_LAYERS) {
            for layer in chunk {
                builder.push(*layer)?;
            }
        }
        builder.finish()
    });
    assert_eq!(whole, chunked);
    if let Ok(plan) = whole {
        lrmp_fuzz::check_plan(&plan, &layers);
        if lrmp_fuzz::dispatch_work(&plan, 2) <= RUN_WORK {
            lrmp_fuzz::check_runs(&plan, 2);
        }
    }
});
