//! Audit drill (issue 7, 45 CFR 164.312(b)): three years of synthetic history in a local store
//! laid out like the region buckets, then one order's complete history exported and verified,
//! timed. Target: under one second.
//!
//! `cargo bench -p rxroom-core --bench audit_drill -- --orders 100000 --dir /tmp/rxroom-drill`
//!
//! Options: `--orders N` (default 100000), `--dir D` (default `$TMPDIR/rxroom-audit-drill`),
//! `--reuse` (skip generation when the store exists), `--runs N` (default 20), `--heavy N`
//! (give the exported order N events instead of 10..=30).
//!
//! Layout under D, one tree per object key:
//! `audit/{region}/{chain}/{first:012}-{last:012}.jsonl` (segments, flushed by the same
//! `FlushState` the room uses), `audit-checkpoints/{region}/{chain}/{seq:012}.json` (one signed
//! checkpoint per order at its last event), `archive/{region}/{order}.jsonl` (the order's
//! messages; plaintext here: the real archive is AES-GCM sealed, which adds microseconds).

use rxroom_core::audit::{
    checkpoint_key, decode_segment, encode_segment, parse_segment_key, segment_key, segment_prefix,
    verify_lines, AuditAction, AuditEvent, AuditSigningKey, Chain, ChainHead, ChainId, Checkpoint,
    EventDraft, ExportHeader, ExportLine, ExportMessage, ExportTrailer, FlushPolicy, FlushState,
    EXPORT_FORMAT,
};
use rxroom_core::ids::{OrderId, Region, Role};
use std::error::Error;
use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error>>;

const REGIONS: [Region; 3] = [Region::Us, Region::Eu, Region::Apac];
const T0_MS: u64 = 1_701_388_800_000; // 2023-12-01T00:00:00Z
const SPAN_MS: u64 = 3 * 365 * 86_400_000;
const SEED_B64: &str = "ZHJpbGwtb25seS1ub3QtYS1yZWFsLWtleS0wMDAwMDA=";

struct Args {
    orders: u64,
    dir: PathBuf,
    reuse: bool,
    runs: usize,
    heavy: u64,
}

fn args() -> Args {
    let mut a = Args {
        orders: 100_000,
        dir: std::env::temp_dir().join("rxroom-audit-drill"),
        reuse: false,
        runs: 20,
        heavy: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--orders" => a.orders = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.orders),
            "--dir" => a.dir = it.next().map(PathBuf::from).unwrap_or(a.dir),
            "--runs" => {
                a.runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(a.runs)
                    .max(1)
            }
            "--reuse" => a.reuse = true,
            "--heavy" => a.heavy = it.next().and_then(|v| v.parse().ok()).unwrap_or(0),
            _ => {} // cargo passes `--bench`
        }
    }
    a
}

/// A small deterministic generator (64-bit LCG) so every drill builds the same history.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }
}

fn order_id(i: u64) -> Res<OrderId> {
    Ok(format!("ord-{i:07}").parse()?)
}

fn region_of(i: u64) -> Region {
    REGIONS[usize::try_from(i % 3).unwrap_or(0)]
}

fn write(root: &Path, key: &str, body: &[u8]) -> Res<()> {
    let path = root.join(key);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, body)?;
    Ok(())
}

fn draft(rng: &mut Lcg, order: Option<&OrderId>, n: u64) -> Res<EventDraft> {
    let (action, role) = match (order, n) {
        (None, _) => (AuditAction::TokenRefused, None),
        (_, 0) => (AuditAction::RoomCreated, Some(Role::Pharmacist)),
        _ => match rng.next(10) {
            0..=3 => (AuditAction::MessageSent, Some(Role::Driver)),
            4..=6 => (AuditAction::MessageRead, Some(Role::Patient)),
            7 => (AuditAction::MediaUploaded, Some(Role::Driver)),
            8 => (AuditAction::MediaViewed, Some(Role::Pharmacist)),
            _ => (AuditAction::LiveConnected, Some(Role::Dispatcher)),
        },
    };
    Ok(EventDraft {
        action,
        actor: match order {
            Some(_) => Some(format!("user-{}", rng.next(50_000)).parse()?),
            None => None,
        },
        role,
        ip: Some(format!("198.51.100.{}", rng.next(250))),
        device: Some(format!("dev-{}", rng.next(90_000)).parse()?),
        order: order.cloned(),
        target: Some(n.to_string()),
        outcome: if order.is_none() {
            "UNAUTHENTICATED".into()
        } else {
            "OK".into()
        },
        labels: if action == AuditAction::MessageSent {
            vec!["ADDRESS".into()]
        } else {
            vec![]
        },
    })
}

/// Runs a chain's events through the room's flush state and writes each segment.
fn flush_all(
    root: &Path,
    region: Region,
    chain: &ChainId,
    outbox: &mut Vec<AuditEvent>,
) -> Res<u64> {
    let mut state = FlushState::default();
    let policy = FlushPolicy {
        max_events: 8,
        max_age_ms: 0,
    };
    let mut segments = 0;
    while let Some(range) = state.next(outbox, &policy, u64::MAX, true)? {
        state.begin(range);
        write(
            root,
            &segment_key(region, chain, range),
            encode_segment(state.events(range, outbox)?).as_bytes(),
        )?;
        let done = state.complete(range, outbox)?;
        outbox.drain(..done);
        segments += 1;
    }
    Ok(segments)
}

/// The order the drill exports.
fn picked(orders: u64) -> u64 {
    orders / 2 + 1
}

fn generate(root: &Path, a: &Args, key: &AuditSigningKey) -> Res<(u64, u64)> {
    let orders = a.orders;
    let mut rng = Lcg(7);
    let (mut events, mut segments) = (0u64, 0u64);
    let mut region_chains: Vec<(Chain, Vec<AuditEvent>)> = REGIONS
        .iter()
        .map(|r| {
            (
                Chain::resume(ChainId::region(*r), ChainHead::genesis()),
                vec![],
            )
        })
        .collect();
    for i in 0..orders {
        let order = order_id(i)?;
        let region = region_of(i);
        let chain_id = ChainId::order(&order);
        let mut chain = Chain::resume(chain_id.clone(), ChainHead::genesis());
        let start = T0_MS + i * (SPAN_MS / orders.max(1));
        let mut n = 10 + rng.next(21); // 10..=30 events, 20 on average
        if i == picked(orders) && a.heavy > 0 {
            n = a.heavy;
        }
        let mut outbox = Vec::with_capacity(32);
        let mut messages = String::new();
        for k in 0..n {
            let ts = start + k * 45_000;
            let d = draft(&mut rng, Some(&order), k)?;
            if d.action == AuditAction::MessageSent {
                let m = ExportMessage {
                    seq: k,
                    sender: format!("user-{}", rng.next(50_000)),
                    role: Role::Driver,
                    server_time_ms: ts,
                    text: "Synthetic drill message: at the side gate in five minutes.".into(),
                    labels: vec![],
                };
                messages.push_str(&ExportLine::Message(m).to_line());
            }
            outbox.push(chain.append(d, ts));
        }
        let outbox_last = outbox.last().cloned();
        events += n;
        segments += flush_all(root, region, &chain_id, &mut outbox)?;
        let last = outbox_last.as_ref().ok_or("an order has events")?;
        let cp = key.sign_head(last);
        write(
            root,
            &checkpoint_key(region, &chain_id, cp.seq),
            serde_json::to_string(&cp)?.as_bytes(),
        )?;
        write(
            root,
            &format!("archive/{}/{}.jsonl", region.as_str(), order.as_str()),
            messages.as_bytes(),
        )?;

        if i.is_multiple_of(20) {
            let slot = usize::try_from(i % 3).unwrap_or(0);
            if let Some((rc, outbox)) = region_chains.get_mut(slot) {
                outbox.push(rc.append(draft(&mut rng, None, 0)?, start));
                events += 1;
            }
        }
    }
    for (rc, mut outbox) in region_chains {
        let region = REGIONS
            .iter()
            .copied()
            .find(|r| ChainId::region(*r) == *rc.id())
            .unwrap_or(Region::Us);
        segments += flush_all(root, region, &rc.id().clone(), &mut outbox)?;
    }
    Ok((events, segments))
}

/// Exports one order from the store into `out` the way the Worker streams it: list the
/// chain's segment prefix, read segments in key order, the checkpoints, the archived messages.
fn export(root: &Path, order: &OrderId, region: Region, out: &Path) -> Res<Vec<Checkpoint>> {
    let chain = ChainId::order(order);
    let mut keys: Vec<String> = fs::read_dir(root.join(segment_prefix(region, &chain)))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .map(|name| format!("{}{name}", segment_prefix(region, &chain)))
        .collect();
    keys.sort_unstable();
    let mut events = Vec::new();
    for key in &keys {
        parse_segment_key(key)?;
        events.extend(decode_segment(&fs::read_to_string(root.join(key))?)?);
    }
    let cp_dir = root.join(format!(
        "audit-checkpoints/{}/{}",
        region.as_str(),
        chain.as_str()
    ));
    let mut checkpoints = Vec::new();
    for entry in fs::read_dir(cp_dir)? {
        checkpoints.push(serde_json::from_str::<Checkpoint>(&fs::read_to_string(
            entry?.path(),
        )?)?);
    }
    let messages = fs::read_to_string(root.join(format!(
        "archive/{}/{}.jsonl",
        region.as_str(),
        order.as_str()
    )))?;
    let message_count = messages.lines().count() as u64;

    let mut w = BufWriter::new(fs::File::create(out)?);
    let header = ExportHeader {
        format: EXPORT_FORMAT.into(),
        order: order.clone(),
        region,
        generated_at_ms: T0_MS + SPAN_MS,
        events: events.len() as u64,
        messages: message_count,
    };
    w.write_all(ExportLine::Header(header).to_line().as_bytes())?;
    for e in &events {
        w.write_all(ExportLine::Event(e.clone()).to_line().as_bytes())?;
    }
    w.write_all(messages.as_bytes())?;
    let head = events.last().map(ChainHead::of).unwrap_or_default();
    let trailer = ExportTrailer {
        events: events.len() as u64,
        messages: message_count,
        head_seq: head.seq,
        head_hash: head.hash,
    };
    w.write_all(ExportLine::Trailer(trailer).to_line().as_bytes())?;
    w.flush()?;
    Ok(checkpoints)
}

fn main() -> Res<()> {
    let a = args();
    let key = AuditSigningKey::from_base64(SEED_B64)?;
    let pubkey = key.public_key();
    let marker = a.dir.join("DRILL_COMPLETE");
    if !(a.reuse && marker.exists()) {
        if marker.exists() {
            fs::remove_dir_all(&a.dir)?;
        } else if a.dir.exists() && fs::read_dir(&a.dir)?.next().is_some() {
            return Err("--dir exists and is not a drill store: refusing to touch it".into());
        }
        fs::create_dir_all(&a.dir)?;
        let t = Instant::now();
        let (events, segments) = generate(&a.dir, &a, &key)?;
        fs::write(&marker, format!("{} orders\n", a.orders))?;
        println!(
            "generated {} orders, {events} events, {segments} segment objects over 3 years in {:.1} s",
            a.orders,
            t.elapsed().as_secs_f64()
        );
    }

    let pick = picked(a.orders);
    let order = order_id(pick)?;
    let region = region_of(pick);
    let out = a.dir.join(format!("export-{}.jsonl", order.as_str()));
    let mut times: Vec<Duration> = Vec::with_capacity(a.runs);
    let mut last = None;
    for _ in 0..a.runs {
        // A fresh file each run: truncating an existing one makes ext4 flush it first.
        if out.exists() {
            fs::remove_file(&out)?;
        }
        let t = Instant::now();
        let checkpoints = export(&a.dir, &order, region, &out)?;
        let report = verify_lines(
            BufReader::new(fs::File::open(&out)?),
            &checkpoints,
            Some(&pubkey),
        )?;
        times.push(t.elapsed());
        if !report.is_ok() || report.checkpoints == 0 {
            return Err(format!("drill export did not verify: {:?}", report.failure).into());
        }
        last = Some(report);
    }
    let first = times.first().copied();
    times.sort_unstable();
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1_000.0);
    if let Some(r) = last {
        println!(
            "export+verify {} ({} events, {} messages, {} checkpoint, {} bytes): first run {:.2} ms, \
             median {:.2} ms, max {:.2} ms over {} runs (target < 1000 ms)",
            order.as_str(),
            r.events,
            r.messages,
            r.checkpoints,
            fs::metadata(&out)?.len(),
            ms(first.as_ref()),
            ms(times.get(times.len() / 2)),
            ms(times.last()),
            a.runs
        );
        println!(
            "drill audit public key (for `rxroom audit verify --pubkey`): {}",
            pubkey.to_base64()
        );
    }
    Ok(())
}
