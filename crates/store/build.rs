// The migrations are embedded by `sqlx::migrate!`, which cannot tell cargo to rebuild when a
// migration is added (sqlx's own advice: a build script that watches the folder).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
