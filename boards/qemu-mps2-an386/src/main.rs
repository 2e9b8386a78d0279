//! lrmp controller firmware for QEMU's `mps2-an386` (Cortex-M4F): the `firmware` session
//! served over the CMSDK UART0, with SysTick as the controller's own counter.
//!
//! QEMU does not emulate DWT CYCCNT; with `-icount shift=0` every instruction takes 1 ns of
//! virtual time and SysTick runs at the 25 MHz system clock, so one SysTick tick is 40
//! instructions: the counter reports instructions at that resolution.
//!
//! A panic or a hard fault exits QEMU through semihosting (QEMU would otherwise hang).
#![no_std]
#![no_main]

// The board's register access: volatile reads and writes of the UART (see uart.rs).
#[allow(unsafe_code)]
mod uart;

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use firmware::wire::CounterKind;
use firmware::{CycleCounter, Session};

#[cfg(feature = "defmt")]
use defmt_semihosting as _;

/// Board name reported in the capabilities.
const BOARD: &str = "qemu-mps2-an386";
/// SysTick reload: the full 24 bits.
const SYSTICK_RELOAD: u32 = 0x00ff_ffff;
/// Instructions per SysTick tick under `-icount shift=0` (1 ns per instruction, 25 MHz).
const INSTRUCTIONS_PER_TICK: u64 = 40;

/// SysTick wraps since boot, counted by the SysTick exception.
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

// Start-up: cortex-m-rt requires the hard-fault handler to be an `unsafe fn`.
#[allow(unsafe_code)]
#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    semihosting::process::exit(3)
}

/// Instructions executed, from SysTick and its wrap count.
struct SysTickInstructions;

impl CycleCounter for SysTickInstructions {
    const KIND: CounterKind = CounterKind::Instructions;
    fn now(&mut self) -> u64 {
        loop {
            let wraps = WRAPS.load(Ordering::Acquire);
            let current = cortex_m::peripheral::SYST::get_current();
            if WRAPS.load(Ordering::Acquire) == wraps {
                let ticks = u64::from(wraps) * (u64::from(SYSTICK_RELOAD) + 1) + u64::from(SYSTICK_RELOAD - current);
                return ticks * INSTRUCTIONS_PER_TICK;
            }
        }
    }
}

#[entry]
fn main() -> ! {
    let Some(mut core) = cortex_m::Peripherals::take() else {
        semihosting::process::exit(4)
    };
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(SYSTICK_RELOAD);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();

    let Some(session) = cortex_m::singleton!(: Session = Session::new(BOARD)) else {
        semihosting::process::exit(5)
    };
    let mut link = uart::Uart0::new();
    #[cfg(feature = "defmt")]
    defmt::info!("lrmp firmware ready on UART0");
    match session.serve(&mut link, &mut SysTickInstructions) {
        Ok(()) => semihosting::process::exit(0),
        Err(never) => match never {},
    }
}
