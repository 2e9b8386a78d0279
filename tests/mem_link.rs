//! An in-memory serial link between the host client (std `Read`/`Write` with a read
//! timeout) and the firmware session (`embedded-io`), with optional fault injection:
//! corrupt one byte of the n-th host frame, drop the n-th controller frame. (Seeded faults
//! of every kind at a rate come from wrapping the host end in `lrmp_tests::fault_io`.)

use std::io;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// Faults to inject, counted in frames (0-based) per direction.
#[derive(Clone, Copy, Default)]
pub struct Faults {
    /// Host frame whose middle byte is flipped on the way.
    pub corrupt_host_frame: Option<usize>,
    /// Controller frame that never arrives.
    pub drop_device_frame: Option<usize>,
    /// How long the host waits for a reply byte; 1 s when `None`.
    pub reply_timeout: Option<Duration>,
}

/// The host's end.
pub struct HostEnd {
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    pending: Vec<u8>,
    frames: usize,
    faults: Faults,
    timeout: Duration,
}

/// The controller's end.
pub struct DeviceEnd {
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    pending: Vec<u8>,
    out: Vec<u8>,
    frames: usize,
    faults: Faults,
}

/// A connected pair.
pub fn pair(faults: Faults) -> (HostEnd, DeviceEnd) {
    let (to_device, from_host) = channel();
    let (to_host, from_device) = channel();
    let host = HostEnd {
        tx: to_device,
        rx: from_device,
        pending: Vec::new(),
        frames: 0,
        faults,
        // Generous: a debug-build row-mode run on a loaded CI machine must not look lost.
        timeout: faults.reply_timeout.unwrap_or(Duration::from_millis(1000)),
    };
    let device = DeviceEnd {
        tx: to_host,
        rx: from_host,
        pending: Vec::new(),
        out: Vec::new(),
        frames: 0,
        faults,
    };
    (host, device)
}

impl io::Write for HostEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut frame = buf.to_vec();
        if self.faults.corrupt_host_frame == Some(self.frames) && frame.len() > 2 {
            let mid = frame.len() / 2;
            frame[mid] ^= 0x10;
            if frame[mid] == 0 {
                frame[mid] = 0x55;
            }
        }
        self.frames += 1;
        self.tx
            .send(frame)
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for HostEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.rx.recv_timeout(self.timeout) {
                Ok(bytes) => self.pending = bytes,
                Err(RecvTimeoutError::Timeout) => return Err(io::ErrorKind::TimedOut.into()),
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

impl embedded_io::ErrorType for DeviceEnd {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for DeviceEnd {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if self.pending.is_empty() {
            match self.rx.recv() {
                Ok(bytes) => self.pending = bytes,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

impl embedded_io::Write for DeviceEnd {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    /// The session flushes once per reply frame: one frame goes out (or is dropped).
    fn flush(&mut self) -> Result<(), Self::Error> {
        let frame = std::mem::take(&mut self.out);
        let dropped = self.faults.drop_device_frame == Some(self.frames);
        self.frames += 1;
        if !dropped {
            let _ = self.tx.send(frame);
        }
        Ok(())
    }
}
