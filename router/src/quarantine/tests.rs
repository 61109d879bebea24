use std::path::Path;

use cdc_mask_core::cipher::{self, Sealing};
use cdc_mask_transformer::keys::LocalKeyring;

use super::*;
use crate::sink::{Batch, Lake};
use crate::test_support::{object_names, records};

/// Components over the sample policy and the keyring in `keyring`.
async fn components(keyring: &Path) -> cdc_mask_transformer::settings::Components {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples/policy.json");
    let settings = crate::settings::local(&policy, keyring).unwrap();
    crate::settings::load(&settings).await.unwrap()
}

const TORN: &[u8] = b"{\"data\":{\"id\":1,\"mail\":\"torn@example.com\"";

/// A lake whose quarantine holds `records` sealed as `policy_unavailable`
/// (as a run without a policy seals them), one torn record sealed as
/// `invalid_json`, a reason side file and a line that is no seal.
async fn sealed_lake(root: &Path, keyring: &Path, records: &[SourceRecord]) {
    let parts = components(keyring).await;
    let key = parts
        .quarantine_keys
        .key_for(records.len() as u64 + 1)
        .unwrap();
    let mut lines = Vec::new();
    let mut scratch = Vec::new();
    for record in records {
        cipher::write_quarantine(
            &key,
            Reason::PolicyUnavailable.as_str(),
            &record.id,
            Sealing::Record(&record.bytes),
            &mut scratch,
            &mut lines,
        );
    }
    cipher::write_quarantine(
        &key,
        Reason::InvalidJson.as_str(),
        "test:torn",
        Sealing::Record(TORN),
        &mut scratch,
        &mut lines,
    );
    lines.extend_from_slice(b"not a seal\n");
    let dir = root.join("quarantine/unknown/unknown/dt=unknown");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("run-0-9.jsonl"), &lines).unwrap();
    let reasons = root.join("quarantine/reasons");
    std::fs::create_dir_all(&reasons).unwrap();
    std::fs::write(
        reasons.join("run-0-9.jsonl"),
        b"{\"record_id\":\"x\",\"reason\":\"invalid_json\"}\n",
    )
    .unwrap();
}

/// Every line under `root/view`, sorted.
fn view_lines(root: &Path, view: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut dirs = vec![root.join(view)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                lines.extend(text.lines().map(str::to_owned));
            }
        }
    }
    lines.sort();
    lines
}

async fn reprocess(
    lake: &Path,
    keyring: &Path,
    export: Option<Box<dyn std::io::Write + Send>>,
) -> Reprocessed {
    Reprocess {
        keys: UnwrapCache::new(Arc::new(LocalKeyring::open_existing(keyring).unwrap())),
        pipeline: Pipeline::new(components(keyring).await),
        output: Arc::new(Output::Lake(Lake::Dir(lake.to_path_buf()))),
        export,
        progress: Progress::new(None),
    }
    .run(&Store::Dir(lake.to_path_buf()))
    .await
    .unwrap()
}

#[tokio::test]
async fn list_counts_by_reason_from_the_clear_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, keyring) = (dir.path().join("lake"), dir.path().join("keyring"));
    sealed_lake(&lake, &keyring, &records(7)).await;
    let listing = list(&Store::Dir(lake)).await.unwrap();
    assert_eq!(listing.objects.len(), 1, "the reason side file is left out");
    let object = &listing.objects[0];
    assert_eq!(
        object.name,
        "quarantine/unknown/unknown/dt=unknown/run-0-9.jsonl"
    );
    assert_eq!(
        (object.first_id.as_str(), object.last_id.as_str()),
        ("test:0", "test:torn")
    );
    assert_eq!(object.unreadable, vec![9]);
    let by_reason = listing.by_reason();
    assert_eq!(
        by_reason["policy_unavailable"],
        Count {
            lines: 7,
            records: 7
        }
    );
    assert_eq!(
        by_reason["invalid_json"],
        Count {
            lines: 1,
            records: 1
        }
    );
    assert!(is_transient("policy_unavailable") && !is_transient("invalid_json"));
    assert!(!is_transient("no_such_reason"));
}

#[tokio::test]
async fn reprocess_gives_the_rows_of_a_direct_run_and_a_second_pass_writes_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, keyring) = (dir.path().join("lake"), dir.path().join("keyring"));
    let input = records(40);
    sealed_lake(&lake, &keyring, &input).await;

    let done = reprocess(&lake, &keyring, None).await;
    assert_eq!(done.objects_read, 1);
    assert_eq!(
        done.lines, 42,
        "40 seals, the torn one and a line that is no seal"
    );
    assert_eq!(done.unreadable.len(), 1);
    assert_eq!(done.stats.records, 40);
    assert_eq!(done.left.get("invalid_json"), Some(&1));
    assert_eq!(done.exported, 0);
    // Every record in exactly one place.
    let s = &done.stats;
    assert_eq!(s.total_rows() + s.control + s.total_quarantined(), 40);
    assert_eq!(s.total_quarantined(), 0);
    assert_eq!(done.records(), 41);

    // The same records run directly give the same masked rows.
    let direct = dir.path().join("direct");
    let mut pipeline = Pipeline::new(components(&keyring).await);
    let mut batch = Batch::new();
    pipeline.process(&input, &mut batch).await.unwrap();
    Lake::Dir(direct.clone())
        .deliver(&mut batch, "direct")
        .await
        .unwrap();
    let masked = view_lines(&lake, "masked");
    assert_eq!(masked.len() as u64, s.total_rows());
    assert_eq!(masked, view_lines(&direct, "masked"));
    assert_eq!(view_lines(&lake, "control"), view_lines(&direct, "control"));
    assert_eq!(
        view_lines(&lake, "encrypted").len(),
        view_lines(&direct, "encrypted").len()
    );

    // A second pass overwrites what the first wrote.
    let names = object_names(&lake);
    let again = reprocess(&lake, &keyring, None).await;
    assert_eq!(again.stats.records, 40);
    assert_eq!(object_names(&lake), names);
    assert_eq!(view_lines(&lake, "masked"), masked);
    assert!(names.iter().any(|n| n.starts_with("requeue-")), "{names:?}");
}

/// A writer the test can read after the pass.
#[derive(Clone, Default)]
struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn records_sealed_for_their_own_bytes_leave_only_through_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, keyring) = (dir.path().join("lake"), dir.path().join("keyring"));
    sealed_lake(&lake, &keyring, &records(6)).await;
    let export = Shared::default();
    let done = reprocess(&lake, &keyring, Some(Box::new(export.clone()))).await;
    assert_eq!(done.exported, 1);
    assert_eq!(done.stats.records, 6);
    let mut expected = TORN.to_vec();
    expected.push(b'\n');
    assert_eq!(*export.0.lock().unwrap(), expected);
    // Nothing of it reached the lake's views, which the others did.
    let masked = view_lines(&lake, "masked");
    assert_eq!(masked.len(), 3);
    assert!(!masked.iter().any(|l| l.contains("torn@")));
}
