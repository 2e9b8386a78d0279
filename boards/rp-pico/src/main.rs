//! lrmp controller firmware for the Raspberry Pi Pico (RP2040): the `firmware` session
//! served over UART0 (GP0 = TX, GP1 = RX, 115200 8N1), with the RP2040's 64-bit
//! microsecond timer as the controller's own counter (the Cortex-M0+ has no DWT cycle
//! counter).
//!
//! A panic halts the core (there is no host to exit to); the host times out and reports it.
#![no_std]
#![no_main]

use firmware::wire::CounterKind;
use firmware::{CycleCounter, Session};
use rp2040_hal::clocks::{init_clocks_and_plls, Clock};
use rp2040_hal::fugit::RateExtU32;
use rp2040_hal::gpio::{FunctionUart, Pins};
use rp2040_hal::uart::{DataBits, StopBits, UartConfig, UartPeripheral};
use rp2040_hal::{pac, Sio, Timer, Watchdog};

/// The second-stage bootloader for the Pico's W25Q080 flash.
// Start-up: the boot ROM finds the bootloader by its link section.
#[allow(unsafe_code)]
#[link_section = ".boot2"]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The Pico's crystal.
const XTAL_FREQ_HZ: u32 = 12_000_000;
/// Board name reported in the capabilities.
const BOARD: &str = "rp-pico";

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    halt()
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// Microseconds of the RP2040 timer.
struct Microseconds(Timer);

impl CycleCounter for Microseconds {
    const KIND: CounterKind = CounterKind::Microseconds;
    fn now(&mut self) -> u64 {
        self.0.get_counter().ticks()
    }
}

#[rp2040_hal::entry]
fn main() -> ! {
    let Some(mut pac) = pac::Peripherals::take() else {
        halt()
    };
    let mut watchdog = Watchdog::new(pac.WATCHDOG);
    let Ok(clocks) = init_clocks_and_plls(
        XTAL_FREQ_HZ,
        pac.XOSC,
        pac.CLOCKS,
        pac.PLL_SYS,
        pac.PLL_USB,
        &mut pac.RESETS,
        &mut watchdog,
    ) else {
        halt()
    };
    let sio = Sio::new(pac.SIO);
    let pins = Pins::new(pac.IO_BANK0, pac.PADS_BANK0, sio.gpio_bank0, &mut pac.RESETS);
    let uart_pins = (
        pins.gpio0.into_function::<FunctionUart>(),
        pins.gpio1.into_function::<FunctionUart>(),
    );
    let config = UartConfig::new(115_200.Hz(), DataBits::Eight, None, StopBits::One);
    let Ok(mut uart) =
        UartPeripheral::new(pac.UART0, uart_pins, &mut pac.RESETS).enable(config, clocks.peripheral_clock.freq())
    else {
        halt()
    };
    let mut counter = Microseconds(Timer::new(pac.TIMER, &mut pac.RESETS, &clocks));
    let Some(session) = cortex_m::singleton!(: Session = Session::new(BOARD)) else {
        halt()
    };
    loop {
        // A UART error (framing, overrun) ends `serve`; the partial frame is dropped and the
        // host retransmits.
        let _ = session.serve(&mut uart, &mut counter);
    }
}
