//! CMSDK APB UART0 of the mps2-an386 (0x4000_4000) as an `embedded-io` byte link.
//!
//! The only `unsafe` of the board besides its startup: volatile accesses to the UART's
//! memory-mapped registers, at fixed addresses documented by Arm (CMSDK UART: DATA +0x0,
//! STATE +0x4 with bit 0 = TX full and bit 1 = RX full, CTRL +0x8, BAUDDIV +0x10).

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

const BASE: usize = 0x4000_4000;
const DATA: *mut u32 = BASE as *mut u32;
const STATE: *mut u32 = (BASE + 0x4) as *mut u32;
const CTRL: *mut u32 = (BASE + 0x8) as *mut u32;
const BAUDDIV: *mut u32 = (BASE + 0x10) as *mut u32;
const TX_FULL: u32 = 1 << 0;
const RX_FULL: u32 = 1 << 1;

/// The UART, enabled for transmit and receive.
pub struct Uart0(());

impl Uart0 {
    /// Enables TX and RX (BAUDDIV 16, the smallest the CMSDK UART accepts).
    pub fn new() -> Uart0 {
        // SAFETY: fixed, always-mapped device registers of this board; single owner (main).
        unsafe {
            write_volatile(BAUDDIV, 16);
            write_volatile(CTRL, 0b11);
        }
        Uart0(())
    }

    fn state() -> u32 {
        // SAFETY: as in `new`; reading STATE has no side effect.
        unsafe { read_volatile(STATE) }
    }
}

impl embedded_io::ErrorType for Uart0 {
    type Error = Infallible;
}

impl embedded_io::Read for Uart0 {
    /// Blocks for the first byte, then takes whatever else is already there.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let mut n = 0;
        for slot in buf.iter_mut() {
            if n > 0 && Self::state() & RX_FULL == 0 {
                break;
            }
            while Self::state() & RX_FULL == 0 {}
            // SAFETY: as in `new`; reading DATA pops the received byte.
            *slot = unsafe { read_volatile(DATA) } as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl embedded_io::Write for Uart0 {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &byte in buf {
            while Self::state() & TX_FULL != 0 {}
            // SAFETY: as in `new`; writing DATA queues one byte.
            unsafe { write_volatile(DATA, u32::from(byte)) };
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}
