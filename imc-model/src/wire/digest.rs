//! The plan digest: a CRC-32 over a plan's wire encoding, so the host can ask the
//! controller which plan is installed ([`super::Request::PlanDigest`]) and compare it with
//! its own copy.
//!
//! Invariant: the digest is a function of the plan's header and layers exactly as they
//! travel on the wire (postcard of the header, then of each layer in order); two plans
//! with equal digests are equal up to a CRC-32 collision. It never panics.

use crate::runtime::Plan;

use super::MAX_PAYLOAD;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32/ISO-HDLC of `postcard(header) ++ postcard(layer_0) ++ ...`.
pub fn plan_digest(plan: &Plan) -> u32 {
    let mut digest = CRC.digest();
    let mut buf = [0u8; MAX_PAYLOAD];
    // A header or a layer always fits a frame (a whole chunk of them does, tested), so
    // the marker byte for an encoding failure is never expected; it only keeps this total.
    match postcard::to_slice(plan.header(), &mut buf) {
        Ok(bytes) => digest.update(bytes),
        Err(_) => digest.update(&[0xff]),
    }
    for layer in plan.layers() {
        match postcard::to_slice(layer, &mut buf) {
            Ok(bytes) => digest.update(bytes),
            Err(_) => digest.update(&[0xff]),
        }
    }
    digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{PlanHeader, PlanLayer};

    fn layer(first_xbar: u64, w_bits: u8) -> PlanLayer {
        PlanLayer {
            fully_connected: false,
            in_h: 8,
            kernel_h: 3,
            out_h: 8,
            out_w: 8,
            cycles_per_position: 100,
            xbars_per_replica: 2,
            replication: 2,
            w_bits,
            a_bits: 4,
            floor_cycles: 0,
            first_xbar,
        }
    }

    fn plan(second_w_bits: u8, noc: u64) -> Plan {
        let header = PlanHeader {
            layer_count: 2,
            xbars_per_tile: 8,
            tiles: 0,
            chip_floor_cycles: noc,
        };
        Plan::new(header, &[layer(0, 4), layer(4, second_w_bits)]).unwrap()
    }

    #[test]
    fn equal_plans_agree_and_any_field_changes_the_digest() {
        assert_eq!(plan_digest(&plan(4, 0)), plan_digest(&plan(4, 0)));
        // A field the dispatcher never reads (bit width) and a header field both count.
        assert_ne!(plan_digest(&plan(4, 0)), plan_digest(&plan(5, 0)));
        assert_ne!(plan_digest(&plan(4, 0)), plan_digest(&plan(4, 1)));
    }
}
