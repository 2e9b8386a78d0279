//! The same scenario as `firmware_link`, against the real firmware under QEMU's mps2-an386:
//! build the board, boot it, ship a resnet50 plan over UART0, run, check against the model,
//! and read the controller's own instruction count. Skipped (with a printed reason) only
//! when `qemu-system-arm` is not installed. The link fault property runs here too, through
//! `lrmp_tests::fault_io`.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use imc_model::runtime::{self, EventDigest, Mode};
use imc_model::wire::{CounterKind, ErrorCode, Request};
use imc_model::ArchConfig;
use lrmp_link::plan_file;
use lrmp_link::Client;

#[test]
fn resnet50_on_qemu_matches_the_model() {
    if !lrmp_tests::qemu_available() {
        return;
    }
    let net = lrmp_network::builtin("resnet50").unwrap();
    let (precisions, replication) = lrmp_tests::plans::four_bit(&net, 196, 64);
    let plan = plan_file::build(&ArchConfig::isaac(), &net, &precisions, &replication)
        .unwrap()
        .validate()
        .unwrap();

    let elf = lrmp_link::board::build_qemu_firmware(false).expect("the QEMU firmware builds");
    let qemu = lrmp_link::connect_qemu(&elf, Duration::from_secs(120), Duration::from_millis(500)).unwrap();
    let mut client = Client::new(&qemu.stream);
    let caps = client.hello().unwrap();
    assert_eq!(caps.board.as_str(), "qemu-mps2-an386");
    assert_eq!(caps.counter, CounterKind::Instructions);
    // A run before any plan is refused.
    assert!(matches!(
        client.request(&Request::Run {
            mode: Mode::Layer,
            inferences: 2
        }),
        Err(lrmp_link::LinkError::Refused(ErrorCode::NoPlan))
    ));
    client.upload(&plan.runtime, &caps).unwrap();
    client.set_attempts(240);
    let layer = client.run(Mode::Layer, 4).unwrap();
    assert_eq!(layer.outcome.latency, plan.totals.latency);
    assert_eq!(layer.outcome.interval, plan.totals.interval);
    let mut digest = EventDigest::default();
    let replay = runtime::run(&plan.runtime, Mode::Layer, 4, &mut digest).unwrap();
    assert_eq!(
        (layer.outcome.dispatch_events, layer.event_digest),
        (replay.dispatch_events, digest.0)
    );
    let row = client.run(Mode::Row, 4).unwrap();
    assert!(row.outcome.latency <= layer.outcome.latency && row.outcome.interval <= layer.outcome.interval);
    // The controller measured itself: at least a few instructions per dispatch event.
    assert!(layer.controller_cost >= 4 * layer.outcome.dispatch_events, "{layer:?}");
    // Garbage between frames gets an error reply and changes nothing.
    use std::io::Write;
    // Runs that outlast the reply timeout on a loaded machine are retransmitted too, so
    // count only what the garbage adds.
    let before = client.stats().retransmissions;
    (&qemu.stream).write_all(&[0x05, 0x11, 0x22, 0x33, 0x44, 0x00]).unwrap();
    let again = client.run(Mode::Layer, 4).unwrap();
    assert_eq!(again.outcome, layer.outcome);
    // The garbage's error reply made the client send its run request again; the
    // controller answered the repeat from its cache instead of running twice.
    assert!(client.stats().retransmissions > before, "{:?}", client.stats());
    assert_eq!(again.event_digest, layer.event_digest);
}

/// A plan of built-in `name`: 4-bit inner layers, replication growing with the layer size.
fn four_bit_plan(name: &str, per_replica: u64) -> plan_file::ValidPlan {
    let net = lrmp_network::builtin(name).unwrap();
    let (precisions, replication) = lrmp_tests::plans::four_bit(&net, per_replica, 16);
    plan_file::build(&ArchConfig::isaac(), &net, &precisions, &replication)
        .unwrap()
        .validate()
        .unwrap()
}

/// The link fault property on the real firmware: uploads through a wrapper that flips bits,
/// truncates, drops, duplicates and reorders frames at 20% end with the plan installed
/// (the controller's digest reply equals the host's and a clean run is exact) or with an
/// error and the controller holding its previous plan or the new one whole.
#[test]
fn uploads_through_a_faulty_link_to_qemu_are_never_silently_wrong() {
    use lrmp_tests::fault_io::{FaultRates, FaultyStream, KINDS};
    use lrmp_tests::fault_uploads::faulty_uploads;
    if !lrmp_tests::qemu_available() {
        return;
    }
    let plans = [four_bit_plan("resnet18", 256), four_bit_plan("resnet50", 512)];
    let elf = lrmp_link::board::build_qemu_firmware(false).expect("the QEMU firmware builds");
    // A short read timeout keeps each lost frame cheap; a reply later than that is only
    // retransmitted for, and answered from the controller's cache.
    let qemu = lrmp_link::connect_qemu(&elf, Duration::from_secs(120), Duration::from_millis(250)).unwrap();
    let rates = FaultRates::uniform(0.20);
    let mut client = Client::new(FaultyStream::new(&qemu.stream, rates, 0x1a_2b_3c));
    let summary = faulty_uploads(&mut client, &[&plans[0].runtime, &plans[1].runtime], 8, 2, 240);
    let (ok, failed, survived) = (summary.installed, summary.failed, summary.survived);
    let all = client.get_ref().counts();
    let per_kind: Vec<String> = KINDS
        .iter()
        .map(|&k| format!("{} {} ({} survived)", k.name(), all.of(k), survived.of(k)))
        .collect();
    let summary = format!(
        "QEMU at {:.0}%: {ok} uploads installed, {failed} failed cleanly ({:?}), none wrong (each checked by digest reply and run); {} frames, {} faults: {}\n",
        rates.total() * 100.0,
        summary.errors,
        all.frames[0] + all.frames[1],
        all.total(),
        per_kind.join(", ")
    );
    print!("{summary}");
    std::fs::write(lrmp_tests::fault_io::report_dir().join("link-faults-qemu.md"), summary).unwrap();
    assert!(ok > 0 && all.total() > 0 && survived.total() > 0);
}
