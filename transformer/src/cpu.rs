//! The CPU instructions this build was compiled to require.
//!
//! On x86-64, `.cargo/config.toml` compiles AES-NI and PCLMULQDQ in, so
//! that AES-GCM runs inline rather than through a per-block call. Such a
//! binary would die of an illegal instruction at its first encryption on a
//! CPU without them; [`check`] says so in one line at start instead.

use std::fmt;

/// The instructions AES-GCM is compiled with on x86-64, by their
/// `/proc/cpuinfo` flag names.
const AES_GCM: &[&str] = &["aes", "pclmulqdq"];

/// This CPU lacks instructions this build was compiled to require.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingInstructions(Vec<&'static str>);

impl fmt::Display for MissingInstructions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this build needs the CPU instructions {} (x86-64 CPUs since 2010), \
             which this CPU lacks; rebuild with `RUSTFLAGS= cargo build --release` \
             to detect them at run time instead",
            self.0.join(" and ")
        )
    }
}

impl std::error::Error for MissingInstructions {}

/// Checks that this CPU has the instructions the build requires, as Linux
/// reports them in `/proc/cpuinfo`. Where that cannot be read (another
/// system), or nothing is required, there is nothing to check.
///
/// # Errors
/// [`MissingInstructions`] naming those the CPU lacks.
pub fn check() -> Result<(), MissingInstructions> {
    let compiled_in = cfg!(all(
        target_arch = "x86_64",
        target_feature = "aes",
        target_feature = "pclmulqdq"
    ));
    if !compiled_in {
        return Ok(());
    }
    match std::fs::read_to_string("/proc/cpuinfo") {
        Ok(cpuinfo) => missing(&cpuinfo, AES_GCM),
        Err(_) => Ok(()),
    }
}

/// Which of `required` the first `flags` line of `cpuinfo` lacks; none
/// when it has no such line (nothing known).
fn missing(cpuinfo: &str, required: &[&'static str]) -> Result<(), MissingInstructions> {
    let Some(flags) = cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim_end() == "flags").then_some(value)
    }) else {
        return Ok(());
    };
    let lacking: Vec<_> = required
        .iter()
        .copied()
        .filter(|name| !flags.split_whitespace().any(|flag| flag == *name))
        .collect();
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(MissingInstructions(lacking))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_instructions_the_cpu_lacks() {
        let full =
            "processor\t: 0\nmodel name\t: x\nflags\t\t: fpu sse2 pclmulqdq ssse3 aes avx2\n";
        assert_eq!(missing(full, AES_GCM), Ok(()));
        let old = "processor\t: 0\nflags\t\t: fpu sse2 ssse3 aesx\nbugs\t\t: aes\n";
        let error = missing(old, AES_GCM).unwrap_err();
        assert_eq!(error, MissingInstructions(vec!["aes", "pclmulqdq"]));
        let line = error.to_string();
        assert!(line.contains("aes and pclmulqdq"), "{line}");
        assert!(!line.contains('\n'));
        let half = "flags : pclmulqdq sse2\n";
        assert_eq!(
            missing(half, AES_GCM),
            Err(MissingInstructions(vec!["aes"]))
        );
    }

    #[test]
    fn an_unknown_cpu_is_not_refused() {
        assert_eq!(missing("", AES_GCM), Ok(()));
        assert_eq!(missing("Features\t: fp asimd aes\n", AES_GCM), Ok(()));
    }

    #[test]
    fn this_machine_runs_this_build() {
        assert_eq!(check(), Ok(()));
    }
}
