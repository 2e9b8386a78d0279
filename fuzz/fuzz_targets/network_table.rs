//! Layer-table import (`lrmp_network::table`): the first byte picks CSV (even) or TOML
//! (odd), the rest is the file's text.
//!
//! Checks: nothing panics; an imported network meets `lrmp_fuzz::check_network`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lrmp_network::table::{parse_csv, parse_toml};

fuzz_target!(|data: &[u8]| {
    let Some((&format, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let parsed = if format % 2 == 0 {
        parse_csv(text, "fuzz.csv", "fuzz")
    } else {
        parse_toml(text, "fuzz.toml", "fuzz")
    };
    if let Ok(net) = parsed {
        lrmp_fuzz::check_network(&net);
    }
});
