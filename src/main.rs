//! `migrate`: Field Notes' migrations, run by mongo-migrate. `migrate --help` lists the commands.

fn main() -> std::process::ExitCode {
    mongo_migrate::cli::App::new(field_notes::MIGRATIONS)
        .migrations_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .run()
}
