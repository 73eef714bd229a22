//! `migrate`: Field Notes' migrations, run by mongo-migrate.
mod registry;

fn main() -> std::process::ExitCode {
    mongo_migrate::cli::App::new(registry::MIGRATIONS)
        .migrations_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .run()
}
