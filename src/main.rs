//! `migrate`: Field Notes' migrations, run by mongodb-migrate. `migrate --help` lists the commands.

fn main() -> std::process::ExitCode {
    mongodb_migrate::cli::App::new(field_notes::MIGRATIONS).run()
}
