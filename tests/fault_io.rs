//! Link fault injection: a seeded [`Read`] + [`Write`] wrapper that damages whole frames on
//! their way between the host client and a controller, in both directions, and counts what
//! it did. It wraps QEMU's serial socket, the in-memory link or a
//! [`crate::inline_device::InlineDevice`] alike.
//!
//! Frames are COBS-encoded and end with a `0x00` delimiter, so the wrapper buffers each
//! direction's bytes until a delimiter and then decides, once per frame, on at most one
//! fault (probabilities per kind in [`FaultRates`]):
//! - bit flip: one random bit of one byte before the delimiter is inverted (it may become a
//!   `0x00` and split the frame in two);
//! - truncate: the frame loses a random tail, delimiter included, so what is left runs into
//!   the next frame;
//! - drop: the frame vanishes;
//! - duplicate: the frame arrives twice;
//! - reorder: the frame is held back and arrives right after the next frame of its
//!   direction (delay by one).
//!
//! Invariants: the same seed, rates and traffic give the same faults; every fault is
//! counted once, in [`FaultCounts`], by direction and kind; with injection switched off
//! ([`FaultyStream::set_enabled`]) bytes pass unchanged, after any held frame is let go.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// What can happen to a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// One bit inverted.
    BitFlip,
    /// A random tail cut off, delimiter included.
    Truncate,
    /// Lost.
    Drop,
    /// Delivered twice.
    Duplicate,
    /// Delivered after the next frame.
    Reorder,
}

/// Every kind, in table order.
pub const KINDS: [FaultKind; 5] = [
    FaultKind::BitFlip,
    FaultKind::Truncate,
    FaultKind::Drop,
    FaultKind::Duplicate,
    FaultKind::Reorder,
];

impl FaultKind {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::BitFlip => "bit flip",
            FaultKind::Truncate => "truncate",
            FaultKind::Drop => "drop",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Reorder => "reorder",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// Probability per frame of each fault kind (at most one fault per frame; the sum is at
/// most 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultRates(pub [f64; 5]);

impl FaultRates {
    /// A frame is damaged with probability `total`, every kind equally likely.
    pub fn uniform(total: f64) -> FaultRates {
        FaultRates([total.clamp(0.0, 1.0) / KINDS.len() as f64; 5])
    }
    /// Probability that a frame is damaged at all.
    pub fn total(&self) -> f64 {
        self.0.iter().sum()
    }
}

/// Which way a frame travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Host to controller (requests).
    ToDevice = 0,
    /// Controller to host (replies).
    ToHost = 1,
}

/// What was injected so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Faults by direction and kind.
    pub injected: [[u64; 5]; 2],
    /// Frames seen by direction (damaged or not), while injection was on.
    pub frames: [u64; 2],
}

impl FaultCounts {
    /// Faults of `kind`, both directions.
    pub fn of(&self, kind: FaultKind) -> u64 {
        self.injected[0][kind.index()] + self.injected[1][kind.index()]
    }
    /// Faults of any kind, both directions.
    pub fn total(&self) -> u64 {
        KINDS.iter().map(|&k| self.of(k)).sum()
    }
    /// What was added since `earlier` (a snapshot of the same counter).
    pub fn since(&self, earlier: &FaultCounts) -> FaultCounts {
        let mut out = *self;
        for d in 0..2 {
            out.frames[d] -= earlier.frames[d];
            for k in 0..KINDS.len() {
                out.injected[d][k] -= earlier.injected[d][k];
            }
        }
        out
    }
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &FaultCounts) {
        for d in 0..2 {
            self.frames[d] += other.frames[d];
            for k in 0..KINDS.len() {
                self.injected[d][k] += other.injected[d][k];
            }
        }
    }
}

/// SplitMix64: small, seeded, good enough to pick faults.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One direction's frame splitter and fault injector.
#[derive(Debug)]
struct Injector {
    direction: Direction,
    rng: Rng,
    partial: Vec<u8>,
    held: Option<Vec<u8>>,
}

impl Injector {
    fn new(direction: Direction, seed: u64) -> Injector {
        Injector {
            direction,
            rng: Rng(seed),
            partial: Vec::new(),
            held: None,
        }
    }

    /// Feeds bytes of this direction; appends what goes on to `out`.
    fn feed(&mut self, bytes: &[u8], rates: Option<&FaultRates>, counts: &mut FaultCounts, out: &mut Vec<u8>) {
        for &byte in bytes {
            self.partial.push(byte);
            if byte == 0 {
                let frame = std::mem::take(&mut self.partial);
                match rates {
                    Some(rates) => self.damage(frame, rates, counts, out),
                    None => out.extend_from_slice(&frame),
                }
            }
        }
    }

    /// Decides one frame's fate (the frame ends with its delimiter).
    fn damage(&mut self, mut frame: Vec<u8>, rates: &FaultRates, counts: &mut FaultCounts, out: &mut Vec<u8>) {
        let dir = self.direction as usize;
        counts.frames[dir] += 1;
        let draw = self.rng.unit();
        let mut bound = 0.0;
        let kind = KINDS.into_iter().find(|k| {
            bound += rates.0[k.index()];
            draw < bound
        });
        if let Some(kind) = kind {
            counts.injected[dir][kind.index()] += 1;
        }
        let body = frame.len() - 1;
        match kind {
            None => out.extend_from_slice(&frame),
            Some(FaultKind::BitFlip) if body > 0 => {
                let at = self.rng.below(body);
                frame[at] ^= 1 << self.rng.below(8);
                out.extend_from_slice(&frame);
            }
            // An empty frame (a lone delimiter) has no bit to flip: it is lost instead.
            Some(FaultKind::BitFlip) | Some(FaultKind::Drop) => {}
            Some(FaultKind::Truncate) => {
                let keep = self.rng.below(frame.len());
                out.extend_from_slice(&frame[..keep]);
            }
            Some(FaultKind::Duplicate) => {
                out.extend_from_slice(&frame);
                out.extend_from_slice(&frame);
            }
            Some(FaultKind::Reorder) => {
                // The frame held before goes now, in its (delayed) turn.
                if let Some(earlier) = self.held.replace(frame) {
                    out.extend_from_slice(&earlier);
                }
                return;
            }
        }
        if let Some(earlier) = self.held.take() {
            out.extend_from_slice(&earlier);
        }
    }

    /// Lets a held frame go.
    fn release(&mut self, out: &mut Vec<u8>) {
        if let Some(earlier) = self.held.take() {
            out.extend_from_slice(&earlier);
        }
    }
}

/// A byte stream whose frames are damaged in both directions (see the module doc).
#[derive(Debug)]
pub struct FaultyStream<T> {
    inner: T,
    rates: FaultRates,
    enabled: bool,
    counts: FaultCounts,
    to_device: Injector,
    to_host: Injector,
    readable: VecDeque<u8>,
}

impl<T: Read + Write> FaultyStream<T> {
    /// Wraps `inner`; faults are drawn from `seed` at `rates`, injection on.
    pub fn new(inner: T, rates: FaultRates, seed: u64) -> FaultyStream<T> {
        FaultyStream {
            inner,
            rates,
            enabled: true,
            counts: FaultCounts::default(),
            to_device: Injector::new(Direction::ToDevice, seed),
            to_host: Injector::new(Direction::ToHost, seed ^ 0x5bd1_e995_0000_0001),
            readable: VecDeque::new(),
        }
    }

    /// Switches injection on or off; switching off lets both held frames go (the
    /// controller's at once, the host's to the next read).
    pub fn set_enabled(&mut self, enabled: bool) -> io::Result<()> {
        self.enabled = enabled;
        if !enabled {
            let mut out = Vec::new();
            self.to_device.release(&mut out);
            self.inner.write_all(&out)?;
            self.inner.flush()?;
            let mut back = Vec::new();
            self.to_host.release(&mut back);
            self.readable.extend(back);
        }
        Ok(())
    }

    /// Changes the rates of later frames.
    pub fn set_rates(&mut self, rates: FaultRates) {
        self.rates = rates;
    }

    /// What was injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.counts
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: Read + Write> Write for FaultyStream<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::new();
        let rates = self.enabled.then_some(&self.rates);
        self.to_device.feed(buf, rates, &mut self.counts, &mut out);
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read + Write> Read for FaultyStream<T> {
    /// Reads until a whole frame has passed the injector; a timeout of the inner stream
    /// with nothing to hand out is passed on (a frame in progress stays buffered).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut chunk = [0u8; 256];
        while self.readable.is_empty() {
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            let mut out = Vec::new();
            let rates = self.enabled.then_some(&self.rates);
            self.to_host.feed(&chunk[..n], rates, &mut self.counts, &mut out);
            self.readable.extend(out);
        }
        let n = buf.len().min(self.readable.len());
        for (slot, byte) in buf.iter_mut().zip(self.readable.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

/// Where fault reports go: `$CARGO_TARGET_DIR`, else the target folder holding the test
/// executable (`<target>/debug/deps/<test>`).
pub fn report_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            let exe = std::env::current_exe().unwrap_or_default();
            exe.ancestors()
                .nth(3)
                .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        },
        PathBuf::from,
    )
}
