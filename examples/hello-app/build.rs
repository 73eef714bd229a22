fn main() {
    mongo_migrate_build::Builder::new().emit();
}
