//! The KMS ECDH test proxy: `clients/python/tests/support/kms_ecdh_proxy.py`
//! in front of a moto server. moto has no `DeriveSharedSecret`, so this
//! harness script answers `GetPublicKey` and `DeriveSharedSecret` itself
//! for P-256 `KEY_AGREEMENT` key pairs it generated, and forwards every
//! other request to moto unchanged. It is a test stand-in for that one KMS
//! action, not a fake of KMS as a whole.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use super::{workspace_root, MotoServer};

/// A running proxy, killed on drop.
pub struct KmsEcdhProxy {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The key pairs it made: (key id, public key PEM).
    pub keys: Vec<(String, String)>,
    child: Child,
}

impl KmsEcdhProxy {
    /// Starts the proxy in front of `moto` with `keys` key pairs. Panics
    /// (never skips) when it cannot start.
    pub fn start(moto: &MotoServer, keys: usize) -> KmsEcdhProxy {
        let python = MotoServer::executable().with_file_name("python");
        let script = workspace_root().join("clients/python/tests/support/kms_ecdh_proxy.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--upstream", &moto.endpoint, "--keys", &keys.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} {}: {e}",
                    python.display(),
                    script.display()
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the proxy's first line");
        let started: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the KMS proxy did not start ({e}): {line:?}"));
        let keys = started["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| {
                (
                    k["KeyId"].as_str().expect("KeyId").to_owned(),
                    k["PublicKeyPem"].as_str().expect("PublicKeyPem").to_owned(),
                )
            })
            .collect();
        KmsEcdhProxy {
            endpoint: started["endpoint"].as_str().expect("endpoint").to_owned(),
            keys,
            child,
        }
    }

    /// An SDK config pointing at this proxy with static test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        super::moto::sdk_config(&self.endpoint).await
    }
}

impl Drop for KmsEcdhProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
