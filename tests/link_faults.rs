//! The link fault property: uploads of real plans over a link that flips bits, truncates,
//! drops, duplicates and reorders frames in both directions, at several rates and many
//! seeds, each end either with the client reporting success and the controller holding
//! exactly the plan sent, or with the client reporting an error and the controller holding
//! its previous plan or the new one, whole, never anything else (docs/link-faults.md).
//! After every upload a clean exchange asks the controller for its plan digest and runs
//! the plan: the timing and the dispatch digest are those of the clean case.
//!
//! The summary table is printed and written to `<target>/link-faults.md`.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::thread;
use std::time::Duration;

use firmware::wire::{plan_digest, ErrorCode};
use firmware::{NoCounter, Session};
use imc_model::runtime::{self, EventDigest, Mode, Plan, RunOutcome};
use imc_model::ArchConfig;
use lrmp_link::plan_file::{self, ValidPlan};
use lrmp_link::{Client, LinkError};
use lrmp_tests::fault_io::{self, FaultCounts, FaultRates, FaultyStream, KINDS};
use lrmp_tests::fault_uploads::faulty_uploads;
use lrmp_tests::inline_device::InlineDevice;

#[path = "mem_link.rs"]
mod mem_link;

/// Inferences of the check run after each upload.
const CHECK_INFERENCES: u32 = 3;

/// A plan with what a clean run of it must report.
struct Case {
    name: &'static str,
    plan: ValidPlan,
    outcome: RunOutcome,
    event_digest: u32,
}

fn case(name: &'static str, mixed: bool) -> Case {
    let net = lrmp_network::builtin(name).expect("built in");
    let (precisions, replication) = lrmp_tests::plans::spread(&net, mixed);
    let plan = plan_file::build(&ArchConfig::isaac(), &net, &precisions, &replication)
        .unwrap()
        .validate()
        .unwrap();
    let mut digest = EventDigest::default();
    let outcome = runtime::run(&plan.runtime, Mode::Layer, CHECK_INFERENCES, &mut digest).unwrap();
    assert_eq!(
        (outcome.latency, outcome.interval),
        (plan.totals.latency, plan.totals.interval)
    );
    Case {
        name,
        plan,
        outcome,
        event_digest: digest.0,
    }
}

/// How one upload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The client reported success; the controller holds the plan sent.
    Installed,
    /// The client reported an error; the controller holds its previous plan.
    FailedKeptPrevious,
    /// The client reported an error; the controller holds the new plan, whole (its commit
    /// was applied but every acknowledgement of it was lost).
    FailedButInstalled,
    /// The client reported success but the controller holds another plan.
    SilentlyWrong,
    /// The client reported an error and the controller holds neither plan (a half or a
    /// mixed one).
    WrongAfterError,
}

/// Totals of one rate (or of all).
#[derive(Default)]
struct Tally {
    uploads: u64,
    installed: u64,
    kept_previous: u64,
    failed_but_installed: u64,
    /// Violations of the property, with what happened.
    silently_wrong: Vec<String>,
    wrong_after_error: Vec<String>,
    /// Faults injected into uploads that ended installed ("survived") and into the others.
    survived: FaultCounts,
    in_failures: FaultCounts,
    retransmissions: u64,
    /// Failed uploads by the client's error.
    errors: std::collections::BTreeMap<String, u64>,
}

/// The client's error without its details.
fn error_name(e: &LinkError) -> String {
    match e {
        LinkError::Refused(code) => format!("refused {code:?}"),
        LinkError::Io(e) => format!("I/O {:?}", e.kind()),
        other => format!("{other:?}")
            .split([' ', '(', '{'])
            .next()
            .unwrap_or("")
            .to_string(),
    }
}

/// Checks that the controller's state and its clean answers agree with `expect`.
fn check_clean(client: &mut Client<FaultyStream<InlineDevice>>, expect: Option<&Case>, what: &str) {
    match expect {
        Some(case) => {
            assert_eq!(
                client.plan_digest().unwrap(),
                plan_digest(&case.plan.runtime),
                "{what}: digest reply"
            );
            let run = client.run(Mode::Layer, CHECK_INFERENCES).unwrap();
            assert_eq!(
                (run.outcome, run.event_digest),
                (case.outcome, case.event_digest),
                "{what}: the run after the upload is the clean run of {}",
                case.name
            );
        }
        None => assert!(
            matches!(client.plan_digest(), Err(LinkError::Refused(ErrorCode::NoPlan))),
            "{what}: no plan installed"
        ),
    }
}

/// One faulty upload of `next` over a link at `rates` (`seed`), onto a controller that
/// holds `previous` (installed over a clean link); returns how it ended and what was
/// injected, the retransmissions and the client's error (for a violation, what happened).
fn trial(
    rates: FaultRates,
    seed: u64,
    previous: Option<&Case>,
    next: &Case,
) -> (Ending, FaultCounts, u64, Option<String>) {
    let what = format!(
        "seed {seed}, rate {:.2}, {} -> {}",
        rates.total(),
        previous.map_or("none", |c| c.name),
        next.name
    );
    let mut client = Client::new(FaultyStream::new(InlineDevice::new("in-memory"), rates, seed));
    client.get_mut().set_enabled(false).unwrap();
    if let Some(case) = previous {
        let caps = client.hello().unwrap();
        client.upload(&case.plan.runtime, &caps).unwrap();
    }
    let before = client.stats().retransmissions;
    client.get_mut().set_enabled(true).unwrap();
    let result = client.hello().and_then(|caps| client.upload(&next.plan.runtime, &caps));
    client.get_mut().set_enabled(false).unwrap();
    let counts = client.get_ref().counts();
    let retransmissions = client.stats().retransmissions - before;

    let installed: Option<Plan> = client.get_ref().inner().session().plan().cloned();
    let is = |case: Option<&Case>| installed.as_ref() == case.map(|c| &c.plan.runtime);
    let ending = match &result {
        Ok(()) if is(Some(next)) => Ending::Installed,
        Ok(()) => Ending::SilentlyWrong,
        // The digest refused an acknowledged upload: the controller holds a wrong plan.
        Err(LinkError::Digest { .. }) => Ending::WrongAfterError,
        Err(_) if is(previous) => Ending::FailedKeptPrevious,
        Err(_) if is(Some(next)) => Ending::FailedButInstalled,
        Err(_) => Ending::WrongAfterError,
    };
    let error = result.err().map(|e| error_name(&e));
    if matches!(ending, Ending::SilentlyWrong | Ending::WrongAfterError) {
        return (ending, counts, retransmissions, Some(format!("{what}: {error:?}")));
    }
    // Over a clean link the controller's answers match its state and the clean case.
    let holds = if ending == Ending::FailedKeptPrevious {
        previous
    } else {
        Some(next)
    };
    check_clean(&mut client, holds, &what);
    if ending != Ending::Installed {
        // The next clean session recovers: the upload goes through and runs exactly.
        let caps = client.hello().unwrap();
        client.upload(&next.plan.runtime, &caps).unwrap();
        check_clean(&mut client, Some(next), &format!("{what}, recovery"));
    }
    (ending, counts, retransmissions, error)
}

fn table(rows: &[(f64, Tally)]) -> String {
    let mut out = String::new();
    let mut all = Tally::default();
    writeln!(out, "| rate | uploads | installed | failed, previous kept | failed, new installed | silently wrong | wrong after error | frames | faults | retransmissions |").unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|").unwrap();
    for (rate, t) in rows {
        let frames = t.survived.frames[0] + t.survived.frames[1] + t.in_failures.frames[0] + t.in_failures.frames[1];
        writeln!(
            out,
            "| {:.0}% | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            rate * 100.0,
            t.uploads,
            t.installed,
            t.kept_previous,
            t.failed_but_installed,
            t.silently_wrong.len(),
            t.wrong_after_error.len(),
            frames,
            t.survived.total() + t.in_failures.total(),
            t.retransmissions
        )
        .unwrap();
        all.survived.add(&t.survived);
        all.in_failures.add(&t.in_failures);
    }
    writeln!(out).unwrap();
    writeln!(out, "| rate | client errors of the failed uploads |").unwrap();
    writeln!(out, "|---|---|").unwrap();
    for (rate, t) in rows {
        let errors: Vec<String> = t.errors.iter().map(|(e, n)| format!("{e}: {n}")).collect();
        writeln!(out, "| {:.0}% | {} |", rate * 100.0, errors.join(", ")).unwrap();
    }
    writeln!(out).unwrap();
    writeln!(
        out,
        "| fault | injected | to controller | to host | survived (upload installed) | in failed uploads |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|").unwrap();
    for kind in KINDS {
        let i = kind as usize;
        let (s, f) = (all.survived, all.in_failures);
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            kind.name(),
            s.of(kind) + f.of(kind),
            s.injected[0][i] + f.injected[0][i],
            s.injected[1][i] + f.injected[1][i],
            s.of(kind),
            f.of(kind)
        )
        .unwrap();
    }
    let (s, f) = (all.survived, all.in_failures);
    writeln!(
        out,
        "| all | {} | {} | {} | {} | {} |",
        s.total() + f.total(),
        (0..5).map(|k| s.injected[0][k] + f.injected[0][k]).sum::<u64>(),
        (0..5).map(|k| s.injected[1][k] + f.injected[1][k]).sum::<u64>(),
        s.total(),
        f.total()
    )
    .unwrap();
    out
}

#[test]
fn uploads_end_installed_or_failed_on_both_sides_never_silently_wrong() {
    let cases = [case("resnet18", false), case("resnet50", true), case("digits", true)];
    let seeds_per_rate: u64 = std::env::var("LRMP_FAULT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250);
    let mut rows = Vec::new();
    for rate in [0.01, 0.05, 0.20, 0.50] {
        let mut tally = Tally::default();
        for seed in 0..seeds_per_rate {
            let next = &cases[(seed % 3) as usize];
            // A quarter of the uploads go to a controller without a plan.
            let previous = (seed % 4 != 0).then(|| &cases[((seed + 1 + seed / 3) % 3) as usize]);
            let seed = seed + (rate * 1e4) as u64 * 1000;
            let (ending, counts, retransmissions, error) = trial(FaultRates::uniform(rate), seed, previous, next);
            tally.uploads += 1;
            match (ending, error) {
                (Ending::SilentlyWrong, Some(what)) => tally.silently_wrong.push(what),
                (Ending::WrongAfterError, Some(what)) => tally.wrong_after_error.push(what),
                (_, Some(error)) => *tally.errors.entry(error).or_default() += 1,
                (_, None) => {}
            }
            tally.retransmissions += retransmissions;
            match ending {
                Ending::Installed => {
                    tally.installed += 1;
                    tally.survived.add(&counts);
                }
                Ending::FailedKeptPrevious => {
                    tally.kept_previous += 1;
                    tally.in_failures.add(&counts);
                }
                Ending::FailedButInstalled => {
                    tally.failed_but_installed += 1;
                    tally.in_failures.add(&counts);
                }
                Ending::SilentlyWrong | Ending::WrongAfterError => tally.in_failures.add(&counts),
            }
        }
        rows.push((rate, tally));
    }
    let text = table(&rows);
    println!("{text}");
    let path = fault_io::report_dir().join("link-faults.md");
    std::fs::write(&path, format!("# Link fault injection (in-memory)\n\n{text}")).unwrap();
    println!("written to {}", path.display());
    for (_, t) in &rows {
        assert!(t.silently_wrong.is_empty(), "SILENTLY WRONG: {:?}", t.silently_wrong);
        assert!(
            t.wrong_after_error.is_empty(),
            "a wrong plan after an error: {:?}",
            t.wrong_after_error
        );
    }
    let all_faults: u64 = rows
        .iter()
        .map(|(_, t)| t.survived.total() + t.in_failures.total())
        .sum();
    let survived: u64 = rows.iter().map(|(_, t)| t.survived.total()).sum();
    // The property is only shown if faults were injected and some uploads lived through them.
    assert!(all_faults > 1000, "{all_faults} faults");
    assert!(survived > 100, "{survived} faults survived");
    for kind in KINDS {
        assert!(
            rows.iter().map(|(_, t)| t.survived.of(kind)).sum::<u64>() > 0,
            "{kind:?} never survived"
        );
    }
}

/// The property with the session on a thread of its own behind real read timeouts, as on
/// a serial line: late replies are retransmitted for and answered from the cache.
#[test]
fn uploads_over_a_threaded_faulty_link_are_never_silently_wrong() {
    let cases = [case("resnet18", false), case("digits", true), case("resnet50", true)];
    // Short, to keep lost frames cheap; a reply later than this on a loaded machine only
    // costs a retransmission, never the property.
    let faults = mem_link::Faults {
        reply_timeout: Some(Duration::from_millis(40)),
        ..mem_link::Faults::default()
    };
    let (host, mut device) = mem_link::pair(faults);
    let session = thread::spawn(move || {
        let mut session = Box::new(Session::new("threaded"));
        let _ = session.serve(&mut device, &mut NoCounter);
        session.plan().cloned()
    });
    let mut client = Client::new(FaultyStream::new(host, FaultRates::uniform(0.20), 0x7e57));
    let plans: Vec<&Plan> = cases.iter().map(|c| &c.plan.runtime).collect();
    let summary = faulty_uploads(&mut client, &plans, 12, CHECK_INFERENCES, 100);
    let counts = client.get_ref().counts();
    println!(
        "threaded at 20%: {} installed, {} failed cleanly {:?}; {} faults in {} frames, {} in installed uploads",
        summary.installed,
        summary.failed,
        summary.errors,
        counts.total(),
        counts.frames[0] + counts.frames[1],
        summary.survived.total()
    );
    assert!(summary.installed > 0 && summary.survived.total() > 0);
    drop(client);
    // The session's own state agrees with the last check over the wire.
    let last = session.join().unwrap().map(|p| plan_digest(&p));
    assert!(last.is_some_and(|d| plans.iter().any(|p| plan_digest(p) == d)));
}
