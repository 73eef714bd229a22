fn main() {
    mongodb_migrate_build::Builder::new().emit();
}
