//! Criterion benchmarks of `lrmp search` (filled in with the search module).
fn main() {}
