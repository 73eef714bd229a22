include!(concat!(env!("OUT_DIR"), "/registry.rs"));
fn main() -> std::process::ExitCode {
    mongodb_migrate::cli::App::new(MIGRATIONS).run()
}
