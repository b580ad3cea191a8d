//! The `helpline` command; everything lives in the library.

fn main() -> std::process::ExitCode {
    helpline::cli::main()
}
