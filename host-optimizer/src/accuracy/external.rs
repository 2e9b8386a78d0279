//! The `external:CMD` oracle: the user's own evaluator, run as a subprocess per assignment.
//!
//! Protocol (documented in `docs/accuracy.md`, example `examples/evaluator.py`):
//! - `CMD` runs under `sh -c` in its own process group, once per distinct assignment.
//! - stdin: one JSON object
//!   `{"protocol": "lrmp-accuracy/1", "network": NAME,
//!     "layers": [{"name": str, "w_bits": int, "a_bits": int}, ...]}` then EOF.
//! - stdout: one JSON object, either `{"accuracy_drop": pp}` (percentage points) or
//!   `{"accuracy": f, "reference_accuracy": f}` (fractions in 0..1; drop = 100 * (ref - acc)).
//!   Other fields are ignored. stderr is free for logs.
//! - exit code 0. A non-zero exit, a signal, a run longer than the timeout (the whole
//!   process group is then killed), or anything else on stdout is an error naming the
//!   exit status and the tail of stderr. More than 1 MiB on stdout is an invalid answer
//!   (output is captured with bounded memory). Results are cached per assignment.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use imc_model::Precision;
use serde::Deserialize;
use serde_json::json;

use super::{check_len, AccuracyError, AccuracyOracle};
use crate::network::Network;

/// Default time one evaluation may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Characters of stderr quoted in errors.
const TAIL: usize = 600;
/// Bytes of an evaluator's stdout (and, roughly, stderr) kept; an answer is far shorter.
const CAPTURE: usize = 1 << 20;

/// How the external evaluator failed.
#[derive(Debug)]
pub enum ExternalError {
    /// The command could not be started.
    Spawn {
        /// The command.
        command: String,
        /// The OS error.
        error: String,
    },
    /// It exited unsuccessfully (code `None`: killed by a signal).
    Failed {
        /// The command.
        command: String,
        /// Exit code.
        code: Option<i32>,
        /// Last part of its stderr.
        stderr_tail: String,
    },
    /// It ran longer than the timeout and was killed.
    Timeout {
        /// The command.
        command: String,
        /// The limit.
        timeout: Duration,
        /// Last part of its stderr.
        stderr_tail: String,
    },
    /// It exited 0 but its stdout is not the expected JSON.
    BadOutput {
        /// The command.
        command: String,
        /// What is wrong.
        message: String,
        /// Start of its stdout.
        stdout_head: String,
        /// Last part of its stderr.
        stderr_tail: String,
    },
}

fn stderr_note(tail: &str) -> String {
    if tail.trim().is_empty() {
        " (stderr was empty)".into()
    } else {
        format!("; stderr ends with:\n{tail}")
    }
}

impl fmt::Display for ExternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternalError::Spawn { command, error } => {
                write!(f, "external evaluator `{command}` could not start: {error}")
            }
            ExternalError::Failed {
                command,
                code: Some(code),
                stderr_tail,
            } => {
                write!(
                    f,
                    "external evaluator `{command}` failed with exit code {code}{}",
                    stderr_note(stderr_tail)
                )
            }
            ExternalError::Failed {
                command,
                code: None,
                stderr_tail,
            } => {
                write!(
                    f,
                    "external evaluator `{command}` was killed by a signal{}",
                    stderr_note(stderr_tail)
                )
            }
            ExternalError::Timeout {
                command,
                timeout,
                stderr_tail,
            } => write!(
                f,
                "external evaluator `{command}` did not answer within {} s and was killed{}",
                timeout.as_secs_f64(),
                stderr_note(stderr_tail)
            ),
            ExternalError::BadOutput {
                command,
                message,
                stdout_head,
                stderr_tail,
            } => write!(
                f,
                "external evaluator `{command}` printed an invalid answer ({message}); expected one JSON object \
                 with `accuracy_drop`, or `accuracy` and `reference_accuracy`; stdout began with: {stdout_head:?}{}",
                stderr_note(stderr_tail)
            ),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    accuracy_drop: Option<f64>,
    accuracy: Option<f64>,
    reference_accuracy: Option<f64>,
}

/// Runs the user's evaluator.
pub struct ExternalOracle {
    command: String,
    network: String,
    layer_names: Vec<String>,
    timeout: Duration,
    cache: HashMap<Vec<Precision>, f64>,
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let start = text.char_indices().rev().nth(TAIL).map_or(0, |(i, _)| i);
    text[start..].trim_end().to_string()
}

fn head(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(200).collect()
}

/// Which end of a long output to keep.
#[derive(Clone, Copy)]
enum Keep {
    /// The first [`CAPTURE`] bytes (stdout: the answer comes first).
    Head,
    /// The last [`CAPTURE`] bytes or more (stderr: the error comes last).
    Tail,
}

/// What a pipe carried: the kept bytes, and whether there were more.
type Captured = (Vec<u8>, bool);

/// Reads a pipe to its end on a thread, keeping at most about [`CAPTURE`] bytes so that an
/// evaluator flooding its output cannot exhaust memory before the timeout; the result
/// arrives on the returned channel.
fn drain(mut pipe: impl Read + Send + 'static, keep: Keep) -> mpsc::Receiver<Captured> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut buf, mut more) = (Vec::new(), false);
        let mut chunk = [0u8; 8192];
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let data = chunk.get(..n).unwrap_or_default();
            match keep {
                Keep::Head if buf.len() >= CAPTURE => more = true,
                Keep::Head => buf.extend_from_slice(data),
                Keep::Tail => {
                    buf.extend_from_slice(data);
                    if buf.len() > 2 * CAPTURE {
                        buf.drain(..buf.len() - CAPTURE);
                        more = true;
                    }
                }
            }
        }
        let _ = tx.send((buf, more));
    });
    rx
}

/// Kills the process group the child leads (it was started with `process_group(0)`).
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.kill();
}

impl ExternalOracle {
    /// An oracle running `command` for `network`, each run limited to `timeout`.
    pub fn new(command: &str, network: &Network, timeout: Duration) -> ExternalOracle {
        ExternalOracle {
            command: command.to_string(),
            network: network.name.clone(),
            layer_names: network.layers.iter().map(|l| l.name.clone()).collect(),
            timeout,
            cache: HashMap::new(),
        }
    }

    fn request(&self, precisions: &[Precision]) -> String {
        let layers: Vec<_> = self
            .layer_names
            .iter()
            .zip(precisions)
            .map(|(name, p)| json!({"name": name, "w_bits": p.w_bits.get(), "a_bits": p.a_bits.get()}))
            .collect();
        json!({"protocol": "lrmp-accuracy/1", "network": self.network, "layers": layers}).to_string()
    }

    fn run(&self, precisions: &[Precision]) -> Result<f64, ExternalError> {
        let command = self.command.clone();
        let mut child = Command::new("sh")
            .args(["-c", &self.command])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| ExternalError::Spawn {
                command: command.clone(),
                error: e.to_string(),
            })?;
        let request = self.request(precisions);
        if let Some(mut stdin) = child.stdin.take() {
            // A writer thread: an evaluator that never reads stdin must not block us.
            thread::spawn(move || {
                let _ = stdin.write_all(request.as_bytes());
                let _ = stdin.write_all(b"\n");
            });
        }
        let out_rx = child.stdout.take().map(|p| drain(p, Keep::Head));
        let err_rx = child.stderr.take().map(|p| drain(p, Keep::Tail));
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() >= self.timeout => {
                    kill_group(&mut child);
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    kill_group(&mut child);
                    return Err(ExternalError::Spawn {
                        command,
                        error: e.to_string(),
                    });
                }
            }
        };
        // A grandchild that escaped the group could hold a pipe open: wait only briefly.
        let collect = |rx: Option<mpsc::Receiver<Captured>>| {
            rx.and_then(|r| r.recv_timeout(Duration::from_secs(2)).ok())
                .unwrap_or_default()
        };
        let ((stdout, stdout_overflow), (stderr, _)) = (collect(out_rx), collect(err_rx));
        let stderr_tail = tail(&stderr);
        let status = match status {
            None => {
                return Err(ExternalError::Timeout {
                    command,
                    timeout: self.timeout,
                    stderr_tail,
                })
            }
            Some(s) => s,
        };
        if !status.success() {
            return Err(ExternalError::Failed {
                command,
                code: status.code(),
                stderr_tail,
            });
        }
        let bad = |message: String| ExternalError::BadOutput {
            command: command.clone(),
            message,
            stdout_head: head(&stdout),
            stderr_tail: stderr_tail.clone(),
        };
        if stdout_overflow {
            return Err(bad(format!("more than {CAPTURE} bytes on stdout")));
        }
        let answer: Answer = serde_json::from_slice(&stdout).map_err(|e| bad(format!("not a JSON object: {e}")))?;
        let fraction = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        match answer {
            Answer {
                accuracy_drop: Some(d), ..
            } if d.is_finite() && d.abs() <= 100.0 => Ok(d),
            Answer {
                accuracy_drop: Some(d), ..
            } => Err(bad(format!("accuracy_drop {d} is not in -100..=100"))),
            Answer {
                accuracy: Some(a),
                reference_accuracy: Some(r),
                ..
            } if fraction(a) && fraction(r) => Ok(100.0 * (r - a)),
            Answer {
                accuracy: Some(_),
                reference_accuracy: Some(_),
                ..
            } => Err(bad("accuracies must be fractions in 0..=1".into())),
            _ => Err(bad(
                "neither `accuracy_drop` nor both `accuracy` and `reference_accuracy`".into(),
            )),
        }
    }
}

impl AccuracyOracle for ExternalOracle {
    fn accuracy_drop(&mut self, precisions: &[Precision]) -> Result<f64, AccuracyError> {
        check_len(self.layer_names.len(), precisions)?;
        if let Some(&d) = self.cache.get(precisions) {
            return Ok(d);
        }
        let d = self.run(precisions).map_err(AccuracyError::External)?;
        self.cache.insert(precisions.to_vec(), d);
        Ok(d)
    }
    fn kind(&self) -> &'static str {
        "external"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network;

    fn oracle(cmd: &str, timeout_ms: u64) -> ExternalOracle {
        let net = network::builtin("digits").expect("digits is built in");
        ExternalOracle::new(cmd, &net, Duration::from_millis(timeout_ms))
    }

    fn p8() -> Vec<Precision> {
        vec![Precision::BASELINE; 4]
    }

    #[test]
    fn answers_are_parsed_and_cached() {
        let dir = std::env::temp_dir().join(format!("lrmp-ext-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let count = dir.join("count");
        // Counts its runs, checks the request, answers with both accuracies.
        let cmd = format!(
            "echo run >> {c}; grep -q '\"protocol\":\"lrmp-accuracy/1\"' && \
             echo '{{\"accuracy\": 0.9, \"reference_accuracy\": 0.95}}'",
            c = count.display()
        );
        let mut o = oracle(&cmd, 10_000);
        let d = o.accuracy_drop(&p8()).unwrap();
        assert!((d - 5.0).abs() < 1e-9, "{d}");
        assert_eq!(o.accuracy_drop(&p8()).unwrap(), d);
        assert_eq!(
            std::fs::read_to_string(&count).unwrap().lines().count(),
            1,
            "second call is cached"
        );
        let mut o = oracle("cat > /dev/null; echo '{\"accuracy_drop\": 1.5}'", 10_000);
        assert_eq!(o.accuracy_drop(&p8()).unwrap(), 1.5);
        assert!(matches!(
            o.accuracy_drop(&p8()[..2]),
            Err(AccuracyError::LayerCount { expected: 4, got: 2 })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn failing_evaluator_reports_exit_code_and_stderr() {
        let e = oracle("echo 'model file missing' >&2; exit 3", 10_000)
            .accuracy_drop(&p8())
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("exit code 3") && text.contains("model file missing"),
            "{text}"
        );
    }

    #[test]
    fn hanging_evaluator_is_killed_at_the_timeout() {
        let start = Instant::now();
        let e = oracle("echo started >&2; sleep 30", 300)
            .accuracy_drop(&p8())
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
        let text = e.to_string();
        assert!(
            text.contains("did not answer within 0.3 s") && text.contains("started"),
            "{text}"
        );
    }

    #[test]
    fn garbage_output_is_an_error() {
        for (cmd, needle) in [
            ("echo 'accuracy is 97%'", "not a JSON object"),
            ("echo '{\"accuracy\": 97, \"reference_accuracy\": 98}'", "fractions"),
            ("echo '{\"foo\": 1}'", "neither"),
            ("echo '{\"accuracy_drop\": \"NaN\"}'", "not a JSON object"),
            ("true", "not a JSON object"),
        ] {
            let text = oracle(cmd, 10_000).accuracy_drop(&p8()).unwrap_err().to_string();
            assert!(text.contains(needle), "{cmd}: {text}");
        }
    }
}
