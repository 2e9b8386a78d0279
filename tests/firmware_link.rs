//! End to end over an in-memory serial link: a resnet50 plan file is built, written, read,
//! shipped to the firmware session in chunks, run in layer and row mode, and checked
//! against the cost model; damaged and lost frames are retransmitted; late duplicates are
//! not applied again; bad plans are refused without touching the installed one.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "mem_link.rs"]
mod mem_link;

use std::io::{Read, Write};
use std::thread;
use std::time::Instant;

use firmware::{CycleCounter, Session};
use imc_model::runtime::{self, EventDigest, Mode, PlanError, MAX_LAYERS};
use imc_model::wire::{
    self, heapless, plan_digest, CounterKind, Envelope, ErrorCode, Reply, Request, CHUNK_LAYERS, MAX_FRAME,
};
use imc_model::{ArchConfig, Precision};
use lrmp_link::plan_file::{self, PlanFile, ValidPlan};
use lrmp_link::{check_fits, Client, LinkError};
use lrmp_tests::inline_device::InlineDevice;
use mem_link::{pair, Faults, HostEnd};

/// Wall-clock microseconds: the in-memory controller's own counter.
struct WallClock(Instant);

impl CycleCounter for WallClock {
    const KIND: CounterKind = CounterKind::Microseconds;
    fn now(&mut self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// Starts a firmware session on its own thread; it ends when the host end is dropped.
fn start_device(faults: Faults) -> (Client<HostEnd>, thread::JoinHandle<()>) {
    let (host, mut device) = pair(faults);
    let handle = thread::spawn(move || {
        let mut session = Session::new("in-memory");
        let mut clock = WallClock(Instant::now());
        let _ = session.serve(&mut device, &mut clock);
    });
    (Client::new(host), handle)
}

/// resnet50 with mixed precisions and replication, written to a file and read back.
fn resnet50_plan() -> ValidPlan {
    let net = lrmp_network::builtin("resnet50").expect("resnet50 is built in");
    let (precisions, replication) = lrmp_tests::plans::spread(&net, true);
    let file = plan_file::build(&ArchConfig::isaac(), &net, &precisions, &replication).unwrap();
    // Tests run in parallel threads of one process: each call gets its own file.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("lrmp-firmware-link-{}-{call}.plan", std::process::id()));
    plan_file::write(&file, &path).unwrap();
    let back = plan_file::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(back, file);
    back.validate().unwrap()
}

#[test]
fn resnet50_runs_exactly_over_the_link() {
    let plan = resnet50_plan();
    assert!(plan.runtime.layers().len() >= 50);
    let (mut client, device) = start_device(Faults::default());
    let caps = client.hello().unwrap();
    assert_eq!(caps.board.as_str(), "in-memory");
    assert_eq!(usize::from(caps.max_layers), MAX_LAYERS);
    client.upload(&plan.runtime, &caps).unwrap();
    let layer = client.run(Mode::Layer, 6).unwrap();
    assert_eq!(layer.outcome.latency, plan.totals.latency);
    assert_eq!(layer.outcome.interval, plan.totals.interval);
    let replicas: u64 = plan.runtime.layers().iter().map(|l| u64::from(l.replication)).sum();
    assert_eq!(layer.outcome.dispatch_events, 6 * replicas);
    let mut digest = EventDigest::default();
    runtime::run(&plan.runtime, Mode::Layer, 6, &mut digest).unwrap();
    assert_eq!(
        layer.event_digest, digest.0,
        "the firmware dispatched what the host replays"
    );
    let row = client.run(Mode::Row, 6).unwrap();
    assert!(row.outcome.latency < layer.outcome.latency);
    assert_eq!(row.outcome.interval, layer.outcome.interval);
    assert_eq!(client.stats().retransmissions, 0);
    drop(client);
    device.join().unwrap();
}

#[test]
fn damaged_and_lost_frames_are_retransmitted() {
    let plan = resnet50_plan();
    // Host frame 3 is a plan chunk; controller frame 6 is the ack of another chunk.
    let faults = Faults {
        corrupt_host_frame: Some(3),
        drop_device_frame: Some(6),
        ..Faults::default()
    };
    let (mut client, device) = start_device(faults);
    let caps = client.hello().unwrap();
    client.upload(&plan.runtime, &caps).unwrap();
    let stats = client.stats();
    assert_eq!(stats.retransmissions, 2, "{stats:?}");
    // The retransmitted chunk whose ack was lost was not applied twice: the plan is whole.
    let layer = client.run(Mode::Layer, 3).unwrap();
    assert_eq!(
        (layer.outcome.latency, layer.outcome.interval),
        (plan.totals.latency, plan.totals.interval)
    );
    drop(client);
    device.join().unwrap();
}

#[test]
fn bad_plans_are_refused_and_leave_the_installed_plan() {
    let plan = resnet50_plan();
    let (mut client, device) = start_device(Faults::default());
    assert!(matches!(
        client.run(Mode::Layer, 2),
        Err(LinkError::Refused(ErrorCode::NoPlan))
    ));
    let caps = client.hello().unwrap();
    client.upload(&plan.runtime, &caps).unwrap();
    let before = client.run(Mode::Layer, 2).unwrap();

    // A second upload whose third layer has replication 0.
    assert_eq!(
        client.request(&Request::PlanBegin(*plan.runtime.header())).unwrap(),
        Reply::Ack
    );
    let mut layers: Vec<_> = plan.runtime.layers()[..4].to_vec();
    layers[2].replication = 0;
    let chunk = Request::PlanChunk {
        first_layer: 0,
        layers: heapless::Vec::from_slice(&layers).unwrap(),
    };
    assert!(matches!(
        client.request(&chunk),
        Err(LinkError::Refused(ErrorCode::Plan(PlanError::Replication(2))))
    ));
    // The upload was abandoned: a commit now is out of sequence.
    assert!(matches!(
        client.request(&Request::PlanCommit),
        Err(LinkError::Refused(ErrorCode::Sequence))
    ));
    // A chunk out of order is refused too.
    client.request(&Request::PlanBegin(*plan.runtime.header())).unwrap();
    let late = Request::PlanChunk {
        first_layer: 8,
        layers: heapless::Vec::from_slice(&layers[..1]).unwrap(),
    };
    assert!(matches!(
        client.request(&late),
        Err(LinkError::Refused(ErrorCode::Sequence))
    ));
    // Too many inferences.
    assert!(matches!(
        client.run(Mode::Layer, 0),
        Err(LinkError::Refused(ErrorCode::Run(_)))
    ));

    let after = client.run(Mode::Layer, 2).unwrap();
    assert_eq!(
        (after.outcome, after.event_digest),
        (before.outcome, before.event_digest),
        "the installed plan is untouched"
    );
    drop(client);
    device.join().unwrap();
}

#[test]
fn oversized_plans_are_refused_before_sending() {
    let plan = resnet50_plan();
    let (mut client, device) = start_device(Faults::default());
    let mut caps = client.hello().unwrap();
    caps.max_layers = 16;
    assert!(matches!(
        check_fits(&plan.runtime, &caps),
        Err(LinkError::Capacity { what: "layers", .. })
    ));
    assert!(matches!(
        client.upload(&plan.runtime, &caps),
        Err(LinkError::Capacity { .. })
    ));
    assert_eq!(client.stats().frames_sent, 1, "only the hello went out");
    drop(client);
    device.join().unwrap();
    // A network longer than the controller's capacity never becomes a plan at all.
    let net = lrmp_network::builtin("resnet50").unwrap();
    let mut long = plan_file::build(
        &ArchConfig::isaac(),
        &net,
        &vec![Precision::BASELINE; net.layers.len()],
        &vec![1; net.layers.len()],
    )
    .unwrap();
    let extra = long.layers.clone();
    long.layers.extend(extra.iter().cloned());
    long.layers.extend(extra);
    assert!(long.layers.len() > MAX_LAYERS);
    assert!(matches!(
        long.validate(),
        Err(plan_file::PlanFileError::Plan(PlanError::LayerCount))
    ));
}

#[test]
fn plan_files_refuse_garbage_and_other_versions() {
    let plan_bytes = {
        let net = lrmp_network::builtin("resnet18").unwrap();
        let n = net.layers.len();
        plan_file::build(&ArchConfig::isaac(), &net, &vec![Precision::BASELINE; n], &vec![1; n])
            .unwrap()
            .to_bytes()
            .unwrap()
    };
    assert!(PlanFile::from_bytes(&plan_bytes).is_ok());
    assert!(matches!(
        PlanFile::from_bytes(&plan_bytes[..plan_bytes.len() - 3]),
        Err(plan_file::PlanFileError::Decode(_))
    ));
    let mut trailing = plan_bytes.clone();
    trailing.push(0);
    assert!(matches!(
        PlanFile::from_bytes(&trailing),
        Err(plan_file::PlanFileError::Decode(_))
    ));
    let mut other = plan_bytes.clone();
    other[0] = 1;
    assert!(matches!(
        PlanFile::from_bytes(&other),
        Err(plan_file::PlanFileError::Version(1))
    ));
    // Every truncation decodes to an error, never a panic.
    for cut in 0..plan_bytes.len() {
        let _ = PlanFile::from_bytes(&plan_bytes[..cut]);
    }
}

/// Sends one request frame straight to `device` and returns every reply it produced.
fn exchange(device: &mut InlineDevice, seq: u16, request: &Request) -> Vec<Envelope<Reply>> {
    let mut frame = [0u8; MAX_FRAME];
    let n = wire::encode(seq, request, &mut frame).unwrap();
    device.write_all(&frame[..n]).unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok(n) = device.read(&mut buf) {
        bytes.extend_from_slice(&buf[..n]);
    }
    bytes
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| wire::decode::<Reply>(f).unwrap())
        .collect()
}

/// Regression: a duplicate of an earlier request delivered after a later one (duplicate +
/// reorder) was applied again: a late `PlanBegin` restarted the upload in progress and the
/// next chunk was refused as out of sequence.
#[test]
fn a_late_duplicate_of_an_earlier_request_is_not_applied_again() {
    let plan = &resnet50_plan().runtime;
    let mut device = InlineDevice::new("in-memory");
    let refused = |seq| {
        vec![Envelope {
            seq,
            body: Reply::Error(ErrorCode::Sequence),
        }]
    };
    let ack = |seq| vec![Envelope { seq, body: Reply::Ack }];
    assert!(matches!(
        exchange(&mut device, 1, &Request::Hello)[..],
        [Envelope {
            seq: 1,
            body: Reply::Capabilities(_)
        }]
    ));
    let begin = Request::PlanBegin(*plan.header());
    assert_eq!(exchange(&mut device, 2, &begin), ack(2));
    let chunks: Vec<Request> = plan
        .layers()
        .chunks(CHUNK_LAYERS)
        .enumerate()
        .map(|(i, layers)| Request::PlanChunk {
            first_layer: (i * CHUNK_LAYERS) as u16,
            layers: wire::heapless::Vec::from_slice(layers).unwrap(),
        })
        .collect();
    assert!(chunks.len() >= 2);
    assert_eq!(exchange(&mut device, 3, &chunks[0]), ack(3));
    // The late duplicate of the begin is refused and changes nothing.
    assert_eq!(exchange(&mut device, 2, &begin), refused(2));
    // A repeat of the latest request still gets its cached reply.
    assert_eq!(exchange(&mut device, 3, &chunks[0]), ack(3));
    let mut seq = 4;
    for chunk in &chunks[1..] {
        assert_eq!(exchange(&mut device, seq, chunk), ack(seq));
        seq += 1;
    }
    // A late chunk is refused too, though it would fit no slot anyway.
    assert_eq!(exchange(&mut device, 3, &chunks[0]), refused(3));
    assert_eq!(exchange(&mut device, seq, &Request::PlanCommit), ack(seq));
    assert_eq!(device.session().plan(), Some(plan));
    // A late commit after a new begin cannot install the half-sent upload.
    assert_eq!(exchange(&mut device, seq + 1, &begin), ack(seq + 1));
    assert_eq!(exchange(&mut device, seq, &Request::PlanCommit), refused(seq));
    // A new client starts its numbering again with a hello.
    assert!(matches!(
        exchange(&mut device, 1, &Request::Hello)[..],
        [Envelope {
            seq: 1,
            body: Reply::Capabilities(_)
        }]
    ));
    let digest = exchange(&mut device, 2, &Request::PlanDigest);
    assert_eq!(
        digest,
        vec![Envelope {
            seq: 2,
            body: Reply::PlanDigest(plan_digest(plan))
        }]
    );
}
