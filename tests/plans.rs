//! Plan inputs the scenarios share: per-layer precisions and replication spread over the
//! whole range, so uploads and runs exercise every bit width and many replica counts.

use imc_model::{Bits, Precision};
use lrmp_network::Network;

/// Mixed precisions on the inner layers (8/8 at both ends, as the search pins them) and
/// replication `1 + 7i mod 23`, capped by each layer's positions. With `mixed` false every
/// layer stays 8/8.
pub fn spread(net: &Network, mixed: bool) -> (Vec<Precision>, Vec<u64>) {
    let n = net.layers.len();
    let bits = |b| Bits::new(b).expect("2..=8 bits");
    let precisions = (0..n)
        .map(|i| match i {
            _ if !mixed || i == 0 || i == n - 1 => Precision::BASELINE,
            _ => Precision {
                w_bits: bits(2 + (i % 7) as u8),
                a_bits: bits(3 + (i % 6) as u8),
            },
        })
        .collect();
    let replication = net
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| (1 + (i as u64 * 7) % 23).min(l.shape.positions()))
        .collect();
    (precisions, replication)
}

/// 4/4 on the inner layers, 8/8 at the ends, one replica per `per_replica` positions
/// (at most `max_replication`).
pub fn four_bit(net: &Network, per_replica: u64, max_replication: u64) -> (Vec<Precision>, Vec<u64>) {
    let n = net.layers.len();
    let four = Precision {
        w_bits: Bits::new(4).expect("4 bits"),
        a_bits: Bits::new(4).expect("4 bits"),
    };
    let precisions = (0..n)
        .map(|i| {
            if i == 0 || i == n - 1 {
                Precision::BASELINE
            } else {
                four
            }
        })
        .collect();
    let replication = net
        .layers
        .iter()
        .map(|l| (l.shape.positions() / per_replica).clamp(1, max_replication))
        .collect();
    (precisions, replication)
}
