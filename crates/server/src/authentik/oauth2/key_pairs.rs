//! The provider's stand-in signing key pairs ([`RSA_KEY_PAIR`], [`EC_KEY_PAIR`]), as authentik creates its
//! self-signed certificate at its first start: made when the store holds no key pair at all (a seed or an earlier
//! start may have brought them), after the server listens, so that start-up does not wait for an RSA key (most of
//! it: BENCHMARKS.md, "Container image"). Whatever reads key pairs waits for [`KeyPairsReady`]: the keyring's lookups
//! and the admin API.

use std::sync::Arc;

use tokio::sync::watch;

use super::ProviderError;
use crate::authentik::oidc::jose::{KeyKind, SigningKey};
use crate::model::{AkKeyPair, EC_KEY_PAIR, RSA_KEY_PAIR};
use crate::store::{Store, StoreError};

/// Whether the stand-in key pairs being made after start-up are in the store; the default has none to wait for.
#[derive(Clone, Debug, Default)]
pub struct KeyPairsReady(Option<watch::Receiver<bool>>);

impl KeyPairsReady {
    /// Returns once the key pairs are stored (or their making failed, which is logged; lookups then find none).
    pub async fn wait(&self) {
        if let Some(ready) = &self.0 {
            let mut ready = ready.clone();
            // An error means the maker is gone, having sent its last value or been aborted at shutdown.
            let _ = ready.wait_for(|ready| *ready).await;
        }
    }
}

/// When `store` holds no key pair: starts making the stand-in key pairs and storing them, then hands them to
/// `stored` (the admin API's start-up state gets them); the task and what waits for it. `None` when the store has
/// key pairs already.
pub(crate) async fn spawn_key_pairs(
    store: Arc<dyn Store>,
    log: slog::Logger,
    stored: impl FnOnce(&[AkKeyPair]) + Send + 'static,
) -> Result<Option<(tokio::task::JoinHandle<()>, KeyPairsReady)>, ProviderError> {
    if !store.all::<AkKeyPair>().await?.is_empty() {
        return Ok(None);
    }
    let (sender, receiver) = watch::channel(false);
    let task = tokio::spawn(async move {
        let made = tokio::task::spawn_blocking(stand_in_key_pairs).await;
        match made {
            Ok(Ok(pairs)) => match insert(&*store, &pairs).await {
                Ok(()) => stored(&pairs),
                Err(error) => slog::error!(log, "cannot store the OAuth2 provider's signing keys"; "error" => %error),
            },
            Ok(Err(error)) => slog::error!(log, "cannot create the OAuth2 provider's signing keys"; "error" => %error),
            Err(error) => slog::error!(log, "cannot create the OAuth2 provider's signing keys"; "error" => %error),
        }
        let _ = sender.send(true);
    });
    Ok(Some((task, KeyPairsReady(Some(receiver)))))
}

async fn insert(store: &dyn Store, pairs: &[AkKeyPair]) -> Result<(), ProviderError> {
    for pair in pairs {
        match store.insert(pair.clone()).await {
            // Another replica created it first.
            Ok(_) | Err(StoreError::Duplicate { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The stand-in key pairs, with keys generated at the first call of this process and reused after: an RSA key
/// costs tens of milliseconds, and a test suite starts many servers on fresh stores in one process.
pub(crate) fn stand_in_key_pairs() -> Result<Vec<AkKeyPair>, ProviderError> {
    static GENERATED: std::sync::Mutex<Vec<AkKeyPair>> = std::sync::Mutex::new(Vec::new());
    let mut generated = GENERATED.lock().unwrap_or_else(|e| e.into_inner());
    if generated.is_empty() {
        let mut pairs = Vec::new();
        for ((pk, name), kind) in [(RSA_KEY_PAIR, KeyKind::Rsa), (EC_KEY_PAIR, KeyKind::Ec)] {
            let key = SigningKey::generate(kind, name)?;
            let (key_data, certificate_data) = (key.pem().clone(), key.certificate_pem().to_owned());
            pairs.push(AkKeyPair { pk, name: name.to_owned(), key_data, certificate_data });
        }
        *generated = pairs;
    }
    Ok(generated.clone())
}
