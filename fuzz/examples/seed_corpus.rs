//! Writes the seed inputs of each fuzz target into `fuzz/corpus/<target>/`
//! (git-ignored), for `cargo fuzz run` to start from:
//! `cargo run -p cdc-mask-fuzz --example seed_corpus`.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, seeds) in [
        ("firehose_event", cdc_mask_fuzz::events()),
        ("dms_record", cdc_mask_fuzz::dms_records()),
        ("json_scanner", cdc_mask_fuzz::json_documents()),
    ] {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:04}")), seed)?;
        }
        println!("{}: {} seeds", dir.display(), seeds.len());
    }
    Ok(())
}
