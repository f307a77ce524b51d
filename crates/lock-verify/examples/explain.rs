//! Prints `ddlint explain`'s table and JSON for the files given: a stand-in until the CLI
//! has the subcommand. `cargo run -p lock-verify --example explain -- FILE…`
fn main() {
    let settings = ddlint_core::Settings::default();
    let files: Vec<_> = std::env::args()
        .skip(1)
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_default();
            ddlint_core::explain::explain_file(&path, &bytes, &settings)
        })
        .collect();
    print!("{}", ddlint_core::explain::render_table(&files));
    for file in &files {
        println!("{}", serde_json::to_string_pretty(file).unwrap_or_default());
    }
}
