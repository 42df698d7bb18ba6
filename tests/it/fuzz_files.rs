//! The fuzzing files kept in sync with the product: fuzz/dicts/operations.dict holds every
//! operation of `customer-key --list` (fuzz/make-dicts.sh writes it), and every fuzz target
//! has its committed seeds.

use std::path::Path;

#[test]
fn the_operations_dictionary_is_in_sync_with_customer_key_list() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(root.join("fuzz/dicts/operations.dict")).unwrap();
    let listed: Vec<String> = customer_key::cli::list_text()
        .lines()
        .map(|l| format!("\"{}\"", l.split_whitespace().next().unwrap()))
        .collect();
    let entries: Vec<&str> = committed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(
        entries, listed,
        "fuzz/dicts/operations.dict is out of date: run bash fuzz/make-dicts.sh"
    );
    assert_eq!(listed.len(), customer_key::registry().operations().len());
}

#[test]
fn every_fuzz_target_has_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let targets: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"'))
        .filter(|n| *n != "customer_key_fuzz")
        .collect();
    assert_eq!(targets.len(), 6, "{targets:?}");
    let run = std::fs::read_to_string(root.join("run.sh")).unwrap();
    for t in targets {
        let seeds = std::fs::read_dir(root.join("seeds").join(t))
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(
            seeds > 0,
            "fuzz/seeds/{t} is empty: run bash fuzz/make-seeds.sh"
        );
        assert!(run.contains(t), "fuzz/run.sh does not run {t}");
    }
}
