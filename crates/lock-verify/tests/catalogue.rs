//! The catalogue parses, has enough cases, and the model explains every case.

use lock_verify::{predict, Catalogue};

fn catalogue() -> Catalogue {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../verify/cases.toml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    Catalogue::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn catalogue_is_well_formed() {
    let catalogue = catalogue();
    assert!(catalogue.cases.len() >= 120, "only {} cases", catalogue.cases.len());
    for (name, sql) in &catalogue.setups {
        let parsed = ddlint_core::parse::parse_file(sql);
        let errors = parsed.items.len() - parsed.statements().count();
        assert_eq!(errors, 0, "setup `{name}` does not parse");
    }
    for case in &catalogue.cases {
        for version in case.min_version.max(14)..=case.max_version.min(18) {
            if let Err(e) = predict(&catalogue, case, version) {
                panic!("{e}");
            }
        }
    }
}
