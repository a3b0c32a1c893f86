use std::process::ExitCode;

fn main() -> ExitCode {
    bedrock_hook::run(std::env::args_os().collect())
}
