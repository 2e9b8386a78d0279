//! `lrmp`: the command-line edge. Parses arguments, calls the library, maps failures to
//! exit codes (2 = bad input, 1 = internal failure). All real work lives in the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
