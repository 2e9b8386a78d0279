//! [`InlineDevice`]: a firmware session behind a std `Read + Write`, answering in the
//! caller's thread, so the host client talks to it in memory without threads or clocks.
//!
//! Invariants: every complete frame written is handled, in order, before `write` returns;
//! bytes after the last delimiter wait for the next write (as in a UART); a read with no
//! reply left times out at once, which is what a real link does after waiting, since
//! nothing more can come.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use firmware::{NoCounter, Session};

/// A firmware session answering in the caller's thread: each complete frame written is
/// handled before `write` returns; reads hand out the replies and time out when none is
/// left.
pub struct InlineDevice {
    session: Box<Session>,
    /// Bytes after the last delimiter, kept for the next write (as a UART would).
    input: Vec<u8>,
    output: VecDeque<u8>,
}

impl InlineDevice {
    /// A fresh session with no plan.
    pub fn new(board: &'static str) -> InlineDevice {
        InlineDevice {
            session: Box::new(Session::new(board)),
            input: Vec::new(),
            output: VecDeque::new(),
        }
    }

    /// The controller's state, for checks the wire cannot make.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl Write for InlineDevice {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.input.extend_from_slice(buf);
        if let Some(end) = self.input.iter().rposition(|&b| b == 0) {
            let frames: Vec<u8> = self.input.drain(..=end).collect();
            let mut link = SliceLink {
                input: &frames,
                output: &mut self.output,
            };
            let Ok(()) = self.session.serve(&mut link, &mut NoCounter);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for InlineDevice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.output.is_empty() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let n = buf.len().min(self.output.len());
        for (slot, byte) in buf.iter_mut().zip(self.output.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

/// Whole frames in, replies out; end of input after the last frame.
struct SliceLink<'a> {
    input: &'a [u8],
    output: &'a mut VecDeque<u8>,
}

impl embedded_io::ErrorType for SliceLink<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for SliceLink<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for SliceLink<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend(buf.iter().copied());
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
