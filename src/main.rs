fn main() -> std::process::ExitCode {
    qsim::cli::main()
}
