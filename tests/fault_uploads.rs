//! Faulty uploads checked over the wire alone: the link fault property (docs/link-faults.md)
//! for controllers whose state the test cannot see (QEMU, a session on another thread).
//!
//! Each upload goes through a [`FaultyStream`] with injection on; then, with injection off,
//! the controller's digest reply says which plan it holds and a run of it must equal the
//! host's replay (timing, dispatch count, dispatch digest). A success must leave the plan
//! sent; an error must leave the previous plan or the new one, whole. Anything else panics.

use std::io::{Read, Write};

use imc_model::runtime::{self, EventDigest, Mode, Plan};
use imc_model::wire::{plan_digest, ErrorCode};
use lrmp_link::{Client, LinkError, ATTEMPTS};

use crate::fault_io::{FaultCounts, FaultyStream};

/// What a series of faulty uploads came to.
#[derive(Debug, Default)]
pub struct UploadSummary {
    /// Uploads the client reported installed (and the controller holds).
    pub installed: u32,
    /// Uploads the client reported failed (the controller holds a whole plan).
    pub failed: u32,
    /// Faults injected into the uploads that ended installed.
    pub survived: FaultCounts,
    /// Faults injected into the failed ones.
    pub in_failures: FaultCounts,
    /// The client's errors.
    pub errors: Vec<String>,
}

/// `uploads` uploads, cycling through `plans`, each through `client`'s fault layer, each
/// checked over a clean link afterwards with a run of `inferences`. Clean exchanges may
/// take `clean_attempts` read timeouts (a slow machine must not fail them).
pub fn faulty_uploads<T: Read + Write>(
    client: &mut Client<FaultyStream<T>>,
    plans: &[&Plan],
    uploads: usize,
    inferences: u32,
    clean_attempts: u32,
) -> UploadSummary {
    let digests: Vec<u32> = plans.iter().map(|p| plan_digest(p)).collect();
    let mut summary = UploadSummary::default();
    let mut holds: Option<usize> = None;
    for upload in 0..uploads {
        let next = upload % plans.len();
        let before = client.get_ref().counts();
        client.set_attempts(ATTEMPTS);
        client
            .get_mut()
            .set_enabled(true)
            .expect("the link takes the held frames");
        let result = client.hello().and_then(|caps| client.upload(plans[next], &caps));
        client
            .get_mut()
            .set_enabled(false)
            .expect("the link takes the held frames");
        let counts = client.get_ref().counts().since(&before);

        client.set_attempts(clean_attempts);
        client.hello().expect("a clean hello");
        let now = match client.plan_digest() {
            Ok(d) => Some(
                digests
                    .iter()
                    .position(|&x| x == d)
                    .unwrap_or_else(|| panic!("upload {upload}: a plan neither sent nor previous (digest {d:#x})")),
            ),
            Err(LinkError::Refused(ErrorCode::NoPlan)) => None,
            Err(e) => panic!("upload {upload}: the clean digest request failed: {e}"),
        };
        match result {
            Ok(()) => {
                assert_eq!(now, Some(next), "upload {upload}: SILENTLY WRONG: success reported");
                summary.installed += 1;
                summary.survived.add(&counts);
            }
            Err(e) => {
                assert!(
                    now == holds || now == Some(next),
                    "upload {upload}: {e}, but the controller holds plan {now:?} (before: {holds:?})"
                );
                summary.failed += 1;
                summary.in_failures.add(&counts);
                summary.errors.push(e.to_string());
            }
        }
        holds = now;
        if let Some(i) = holds {
            let run = client.run(Mode::Layer, inferences).expect("a clean run");
            let mut digest = EventDigest::default();
            let replay = runtime::run(plans[i], Mode::Layer, inferences, &mut digest).expect("the plan runs");
            assert_eq!(
                (run.outcome, run.event_digest),
                (replay, digest.0),
                "upload {upload}: the run is the clean one"
            );
        }
    }
    summary
}
