//! Functional runs end to end (issue 6): the quantized digits network is shipped to the
//! firmware session, every held-out sample is classified there and compared bit for bit
//! (class and logits digest) with the host's crossbar-model forward pass — over the
//! in-memory link always, and against QEMU's mps2-an386 when `qemu-system-arm` is present.
//! A tampered weight must show up as mismatches, and bad uploads are refused.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "mem_link.rs"]
mod mem_link;

use std::thread;
use std::time::Duration;

use firmware::{NoCounter, Session};
use imc_model::wire::{heapless, ErrorCode, Request};
use imc_model::xbar::net::{logits_digest, NetError};
use imc_model::{ArchConfig, Bits, Precision};
use lrmp_link::{check_network, functional_net, Client, FunctionalError, LinkError};
use lrmp_trained::digits::SPEC;
use lrmp_trained::graph::model::{Set, TrainedModel};
use lrmp_trained::graph::quant::Scratch;
use mem_link::{pair, Faults, HostEnd};

fn model() -> TrainedModel {
    lrmp_trained::digits::model(None, None).unwrap()
}

fn precision(w: u8, a: u8) -> Precision {
    Precision {
        w_bits: Bits::new(w).unwrap(),
        a_bits: Bits::new(a).unwrap(),
    }
}

/// A mixed assignment with narrow layers, so requantization and small codes are exercised.
fn mixed() -> Vec<Precision> {
    vec![precision(8, 8), precision(4, 6), precision(3, 5), precision(6, 4)]
}

fn start_device() -> (Client<HostEnd>, thread::JoinHandle<()>) {
    let (host, mut device) = pair(Faults::default());
    let handle = thread::spawn(move || {
        // The session holds the network store (~50 KiB): keep it off the thread's stack.
        let mut session = Box::new(Session::new("in-memory"));
        let _ = session.serve(&mut device, &mut NoCounter);
    });
    (Client::new(host), handle)
}

#[test]
fn every_held_out_sample_matches_the_host_over_the_in_memory_link() {
    let model = model();
    let arch = ArchConfig::isaac();
    let (mut client, device) = start_device();
    let caps = client.hello().unwrap();
    for precisions in [vec![Precision::BASELINE; 4], mixed()] {
        let check = check_network(&mut client, &caps, &arch, &model, &precisions, usize::MAX).unwrap();
        let host = model.evaluate(&arch, &precisions, Set::Test).unwrap();
        assert_eq!(check.samples, model.images(Set::Test).1.len());
        assert_eq!(check.samples, 359);
        assert_eq!(check.matches, check.samples, "{precisions:?}");
        assert_eq!(check.accuracy, host.accuracy);
        assert_eq!(check.host_accuracy, host.accuracy);
    }
    drop(client);
    device.join().unwrap();
}

#[test]
fn a_tampered_weight_is_caught_and_bad_uploads_are_refused() {
    let model = model();
    let arch = ArchConfig::isaac();
    let (mut client, device) = start_device();
    let caps = client.hello().unwrap();
    // Classifying before any network is committed is refused.
    assert!(matches!(
        client.classify(&[0; 64]),
        Err(LinkError::Refused(ErrorCode::Net(NetError::NotReady)))
    ));

    let precisions = [Precision::BASELINE; 4];
    let q = model.quantize(&arch, &precisions).unwrap();
    let mut net = functional_net(&SPEC, &arch, &q).unwrap();
    // One fc2 weight flipped in sign: the controller runs it, and the digests differ.
    let fc2 = net.weights.len() - 5;
    net.weights[fc2] = if net.weights[fc2] == 0 { 1 } else { -net.weights[fc2] };
    client.upload_net(&net, &caps).unwrap();
    let mut scratch = Scratch::default();
    let mut mismatches = 0;
    let (images, indices) = model.images(Set::Test);
    for &i in indices.iter().take(40) {
        let (class, _) = q
            .classify(lrmp_trained::graph::Samples::image(images, i).unwrap(), &mut scratch)
            .unwrap();
        let input: Vec<u8> = q
            .input_codes(lrmp_trained::graph::Samples::image(images, i).unwrap())
            .collect();
        let device = client.classify(&input).unwrap();
        if (usize::from(device.class), device.logits_digest) != (class, logits_digest(scratch.logits())) {
            mismatches += 1;
        }
    }
    assert!(mismatches > 0, "a changed weight must change some logits");

    // A weight outside the symmetric 8-bit range is refused at commit; the network is then
    // not runnable.
    let mut bad = functional_net(&SPEC, &arch, &q).unwrap();
    bad.weights[0] = i8::MIN;
    assert!(matches!(
        client.upload_net(&bad, &caps),
        Err(LinkError::Refused(ErrorCode::Net(NetError::Values)))
    ));
    assert!(matches!(
        client.classify(&[0; 64]),
        Err(LinkError::Refused(ErrorCode::Net(NetError::NotReady)))
    ));
    // A chunk at the wrong offset is refused as out of order.
    let good = functional_net(&SPEC, &arch, &q).unwrap();
    client
        .request(&Request::NetBegin {
            arch: good.arch,
            layers: 4,
        })
        .unwrap();
    for layer in &good.layers {
        client.request(&Request::NetLayer(*layer)).unwrap();
    }
    let data = heapless::Vec::from_slice(&good.weights[..8]).unwrap();
    let reply = client.request(&Request::NetWeights { offset: 8, data });
    assert!(
        matches!(reply, Err(LinkError::Refused(ErrorCode::Net(NetError::Order)))),
        "{reply:?}"
    );
    // A layer that does not chain to the previous one is refused.
    client
        .request(&Request::NetBegin {
            arch: good.arch,
            layers: 4,
        })
        .unwrap();
    client.request(&Request::NetLayer(good.layers[0])).unwrap();
    assert!(matches!(
        client.request(&Request::NetLayer(good.layers[2])),
        Err(LinkError::Refused(ErrorCode::Net(NetError::Geometry)))
    ));
    // The untouched network uploads and matches again.
    let check = check_network(&mut client, &caps, &arch, &model, &precisions, usize::MAX).unwrap();
    assert_eq!(check.matches, check.samples);
    drop(client);
    device.join().unwrap();
}

#[test]
fn every_held_out_sample_matches_the_host_on_qemu() {
    if !lrmp_tests::qemu_available() {
        return;
    }
    let model = model();
    let arch = ArchConfig::isaac();
    let elf = lrmp_link::board::build_qemu_firmware(true).expect("the QEMU firmware builds");
    let qemu = lrmp_link::connect_qemu(&elf, Duration::from_secs(600), Duration::from_millis(500)).unwrap();
    let mut client = Client::new(&qemu.stream);
    let caps = client.hello().unwrap();
    client.set_attempts(240);
    let precisions = mixed();
    let check = check_network(&mut client, &caps, &arch, &model, &precisions, usize::MAX).unwrap();
    let host = model.evaluate(&arch, &precisions, Set::Test).unwrap();
    assert_eq!(check.samples, 359);
    assert_eq!(check.matches, check.samples);
    assert_eq!(check.accuracy, host.accuracy);
    assert!(
        check.controller_cost_per_sample > 0.0,
        "the QEMU board counts instructions"
    );
}

#[test]
fn the_fashion_network_is_refused_before_sending_with_what_it_needs() {
    let e = lrmp_link::fits_controller(&lrmp_trained::fashion::SPEC).unwrap_err();
    assert!(matches!(e, FunctionalError::DoesNotFit(_)));
    let text = e.to_string();
    for need in [
        "residual adds",
        "pooling",
        "grouped convolution",
        "weights (the store holds",
        "feature maps of 12544 values",
    ] {
        assert!(text.contains(need), "{text}");
    }
    assert!(lrmp_link::fits_controller(&SPEC).is_ok());
}
