//! Framing: postcard body, CRC-32 trailer, COBS encoding, `0x00` delimiter.
//!
//! [`encode`] writes one frame; [`FrameReader`] collects delimited frames from a byte
//! stream with a fixed buffer; [`decode`] checks COBS, CRC and version before it lets
//! postcard read the body. No function here panics on any input.

use serde::{de::DeserializeOwned, Serialize};

use super::{Envelope, FORMAT_VERSION, MAX_FRAME, MAX_PAYLOAD};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
const CRC_BYTES: usize = 4;
/// Most bytes of a frame before its delimiter.
const FRAME_BODY: usize = MAX_FRAME - 1;

/// The frame CRC, for tests that build frames by hand.
#[cfg(test)]
pub(crate) const TESTS_CRC: crc::Crc<u32> = CRC;

/// Why a frame could not be written or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The message does not fit in [`MAX_FRAME`], or a received frame is longer than
    /// [`encode`] writes.
    TooLong,
    /// The frame's COBS encoding is broken.
    Cobs,
    /// Shorter than a header and CRC.
    Short,
    /// The CRC does not match.
    Crc,
    /// Another format version.
    Version(u16),
    /// The sequence number is readable but the body is not (or has trailing bytes).
    Body(u16),
    /// Not even the header decodes.
    Header,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WireError::TooLong => write!(f, "message longer than {MAX_FRAME} bytes"),
            WireError::Cobs => write!(f, "bad COBS encoding"),
            WireError::Short => write!(f, "frame too short"),
            WireError::Crc => write!(f, "CRC mismatch"),
            WireError::Version(v) => write!(f, "format version {v}, expected {FORMAT_VERSION}"),
            WireError::Body(seq) => write!(f, "undecodable body (seq {seq})"),
            WireError::Header => write!(f, "undecodable header"),
        }
    }
}

#[cfg(feature = "std")]
extern crate std;
#[cfg(feature = "std")]
impl std::error::Error for WireError {}

/// Writes `message` as one delimited frame into `out`; returns the bytes written.
pub fn encode<T: Serialize>(seq: u16, body: &T, out: &mut [u8; MAX_FRAME]) -> Result<usize, WireError> {
    let mut payload = [0u8; MAX_PAYLOAD];
    let used = {
        let header = postcard::to_slice(&(FORMAT_VERSION, seq), &mut payload)
            .map_err(|_| WireError::TooLong)?
            .len();
        let rest = payload.get_mut(header..).ok_or(WireError::TooLong)?;
        header + postcard::to_slice(body, rest).map_err(|_| WireError::TooLong)?.len()
    };
    let crc = CRC.checksum(payload.get(..used).ok_or(WireError::TooLong)?);
    payload
        .get_mut(used..used + CRC_BYTES)
        .ok_or(WireError::TooLong)?
        .copy_from_slice(&crc.to_le_bytes());
    let (body_out, _) = out.split_at_mut(MAX_FRAME - 1);
    let n = cobs::try_encode(payload.get(..used + CRC_BYTES).ok_or(WireError::TooLong)?, body_out)
        .map_err(|_| WireError::TooLong)?;
    // n <= MAX_FRAME - 1, so the delimiter slot exists.
    *out.get_mut(n).ok_or(WireError::TooLong)? = 0;
    Ok(n + 1)
}

/// Reads one frame (COBS bytes without the delimiter).
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<Envelope<T>, WireError> {
    // Nothing longer than `encode` can write is accepted, so every decoded message
    // re-encodes (fuzzing found the reader passing on a 320-byte frame; docs/fuzzing.md).
    if frame.len() > FRAME_BODY {
        return Err(WireError::TooLong);
    }
    let mut payload = [0u8; MAX_FRAME];
    let report = cobs::decode(frame, &mut payload).map_err(|_| WireError::Cobs)?;
    if report.frame_size() > MAX_PAYLOAD {
        return Err(WireError::TooLong);
    }
    let payload = payload.get(..report.frame_size()).ok_or(WireError::Cobs)?;
    if payload.len() <= CRC_BYTES {
        return Err(WireError::Short);
    }
    let (data, trailer) = payload.split_at(payload.len() - CRC_BYTES);
    let mut expected = [0u8; CRC_BYTES];
    expected.copy_from_slice(trailer);
    if CRC.checksum(data) != u32::from_le_bytes(expected) {
        return Err(WireError::Crc);
    }
    let (version, rest) = postcard::take_from_bytes::<u16>(data).map_err(|_| WireError::Header)?;
    if version != FORMAT_VERSION {
        return Err(WireError::Version(version));
    }
    let (seq, rest) = postcard::take_from_bytes::<u16>(rest).map_err(|_| WireError::Header)?;
    match postcard::take_from_bytes::<T>(rest) {
        Ok((body, [])) => Ok(Envelope { seq, body }),
        _ => Err(WireError::Body(seq)),
    }
}

/// What [`FrameReader::push`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed<'a> {
    /// Still inside a frame.
    Pending,
    /// A complete frame (without its delimiter).
    Frame(&'a [u8]),
    /// A frame longer than [`MAX_FRAME`] (delimiter included) ended; it was dropped.
    Overflow,
}

/// Collects delimited frames from a byte stream in a fixed buffer.
pub struct FrameReader {
    /// A frame without its delimiter: at most `MAX_FRAME - 1` bytes, as `encode` writes.
    buf: [u8; FRAME_BODY],
    len: usize,
    overflowed: bool,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::new()
    }
}

impl FrameReader {
    /// An empty reader.
    pub const fn new() -> FrameReader {
        FrameReader {
            buf: [0; FRAME_BODY],
            len: 0,
            overflowed: false,
        }
    }

    /// Feeds one byte. Empty frames (two delimiters in a row) are skipped.
    pub fn push(&mut self, byte: u8) -> Pushed<'_> {
        if byte != 0 {
            match self.buf.get_mut(self.len) {
                Some(slot) => {
                    *slot = byte;
                    self.len += 1;
                }
                None => self.overflowed = true,
            }
            return Pushed::Pending;
        }
        let (len, overflowed) = (self.len, self.overflowed);
        self.len = 0;
        self.overflowed = false;
        if overflowed {
            Pushed::Overflow
        } else if len == 0 {
            Pushed::Pending
        } else {
            self.buf.get(..len).map_or(Pushed::Overflow, Pushed::Frame)
        }
    }
}
