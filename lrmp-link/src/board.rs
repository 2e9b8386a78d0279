//! Reaching a controller: the QEMU `mps2-an386` board (firmware built on demand, QEMU
//! started under a timeout, UART0 on a local TCP port) or a real board on a serial port.
//!
//! Invariant: a [`QemuBoard`] owns its child (`timeout` running QEMU) and stops it, by its
//! id, when dropped; `timeout` also ends QEMU after the wall-clock limit should `lrmp`
//! itself die.

use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The QEMU board's crate, relative to the repository root.
pub const QEMU_BOARD_DIR: &str = "boards/qemu-mps2-an386";
/// Its target triple.
pub const QEMU_TARGET: &str = "thumbv7em-none-eabihf";

/// Why the QEMU board could not be reached.
#[derive(Debug)]
pub enum QemuError {
    /// `cargo build` of the firmware failed or produced no executable.
    Build(String),
    /// QEMU could not be started (not installed?).
    Spawn(io::Error),
    /// QEMU's serial port did not accept a connection.
    Connect(io::Error),
}

impl fmt::Display for QemuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QemuError::Build(msg) => write!(f, "building the QEMU firmware failed: {msg}"),
            QemuError::Spawn(e) => write!(f, "starting qemu-system-arm failed: {e}"),
            QemuError::Connect(e) => write!(f, "connecting to QEMU's serial port failed: {e}"),
        }
    }
}

impl std::error::Error for QemuError {}

/// The repository root (where the boards live), from the `LRMP_ROOT` variable or this
/// crate's location at build time.
pub fn repo_root() -> PathBuf {
    std::env::var_os("LRMP_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// Builds the QEMU firmware with the `firmware` profile (a no-op when up to date) and
/// returns the ELF; `functional` adds the digits store (`--features functional`, built
/// into its own target folder so the two variants never overwrite each other).
/// `LRMP_FIRMWARE_ELF` names a prebuilt ELF instead.
pub fn build_qemu_firmware(functional: bool) -> Result<PathBuf, QemuError> {
    if let Some(elf) = std::env::var_os("LRMP_FIRMWARE_ELF") {
        return Ok(PathBuf::from(elf));
    }
    let root = repo_root();
    let dir = root.join(QEMU_BOARD_DIR);
    // The board is a workspace of its own; share the root's target directory with it.
    let mut target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    if functional {
        target_dir.push("functional-firmware");
    }
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&dir)
        .args([
            "build",
            "--profile",
            "firmware",
            "--target",
            QEMU_TARGET,
            "--message-format=json",
        ])
        .args(if functional {
            &["--features", "functional"][..]
        } else {
            &[]
        })
        .arg("--target-dir")
        .arg(&target_dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| QemuError::Build(format!("cargo in {}: {e}", dir.display())))?;
    if !out.status.success() {
        return Err(QemuError::Build(format!(
            "cargo build in {} exited with {}",
            dir.display(),
            out.status
        )));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|msg| msg.get("executable").and_then(|e| e.as_str()).map(PathBuf::from))
        .next_back()
        .ok_or_else(|| QemuError::Build("cargo reported no executable".into()))
}

/// A running QEMU with its UART0 connected.
pub struct QemuBoard {
    child: Child,
    /// The connection to UART0 (reads time out after the given read timeout).
    pub stream: TcpStream,
}

impl QemuBoard {
    /// Semihosting output of the firmware so far is not collected; QEMU's stdout is
    /// inherited by `lrmp` only when `LRMP_QEMU_LOG` is set.
    fn spawn(elf: &Path, port: u16, wall_limit: Duration) -> io::Result<Child> {
        let log = std::env::var_os("LRMP_QEMU_LOG").is_some();
        Command::new("timeout")
            .arg(format!("{}", wall_limit.as_secs().max(1)))
            .args(["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4"])
            .args(["-display", "none", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native", "-icount", "shift=0"])
            .arg("-serial")
            .arg(format!("tcp:127.0.0.1:{port},server=on,wait=on"))
            .arg("-kernel")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(if log { Stdio::inherit() } else { Stdio::null() })
            .stderr(Stdio::piped())
            .spawn()
    }
}

impl Drop for QemuBoard {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Stops our `timeout` child and the QEMU under it. SIGTERM, which `timeout` forwards to
/// QEMU (a SIGKILL would orphan QEMU), then SIGKILL if it has not gone within 2 s.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts QEMU on `elf` (killed after `wall_limit`) and connects to its UART0.
pub fn connect_qemu(elf: &Path, wall_limit: Duration, read_timeout: Duration) -> Result<QemuBoard, QemuError> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(QemuError::Connect)?
        .port();
    let mut child = QemuBoard::spawn(elf, port, wall_limit).map_err(QemuError::Spawn)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) => {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut msg = String::new();
                    if let Some(err) = child.stderr.take() {
                        for line in BufReader::new(err).lines().map_while(Result::ok) {
                            msg.push_str(&line);
                            msg.push('\n');
                        }
                    }
                    return Err(QemuError::Spawn(io::Error::other(format!(
                        "QEMU exited ({status}): {msg}"
                    ))));
                }
                if Instant::now() > deadline {
                    stop(&mut child);
                    return Err(QemuError::Connect(e));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let configure = stream
        .set_read_timeout(Some(read_timeout))
        .and_then(|()| stream.set_nodelay(true));
    let board = QemuBoard { child, stream };
    configure.map_err(QemuError::Connect)?;
    Ok(board)
}

/// Opens a real board's serial port (115200 8N1) with a read timeout.
pub fn open_serial(path: &str, read_timeout: Duration) -> Result<Box<dyn serialport::SerialPort>, serialport::Error> {
    serialport::new(path, 115_200).timeout(read_timeout).open()
}
