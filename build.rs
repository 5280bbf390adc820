//! Rebuilds when a history-store migration is added or edited: `sqlx::migrate!` embeds the files
//! under `migrations/` at compile time, and Cargo does not watch them on its own.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
