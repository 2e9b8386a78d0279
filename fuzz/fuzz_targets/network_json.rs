//! PIMCOMP-NN JSON import (`lrmp_network::pimcomp::parse`) on arbitrary text.
//!
//! Checks: nothing panics; an imported network meets `lrmp_fuzz::check_network`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(net) = lrmp_network::pimcomp::parse(text, "fuzz.json", "fuzz") {
        lrmp_fuzz::check_network(&net);
    }
});
