//! Files written whole or not at all: the local lake's objects, the replay
//! checkpoint and the compiled policy.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;

/// Temporary files made by this process so far (their names must differ
/// between threads writing into one directory).
static TEMPORARIES: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a new temporary file next to `path`, flushes it to
/// disk, then renames it over `path`: a reader sees the old file or the
/// whole new one, never a part, and after a crash the file is one or the
/// other. The directory must exist.
///
/// # Errors
/// Any I/O error, naming `path`; the temporary file is removed.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        TEMPORARIES.fetch_add(1, Ordering::Relaxed)
    ));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        // Best effort: the temporary file is ours and half-written.
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_whole_or_leaves_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, "old").unwrap();
        super::write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
        let error = super::write(&dir.path().join("missing/p.json"), b"x").unwrap_err();
        assert!(format!("{error:#}").contains("missing/p.json"), "{error:#}");
    }
}
