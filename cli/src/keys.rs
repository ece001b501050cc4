//! `rxroom keys`: data keys for encryption at rest (45 CFR 164.312(a)(2)(iv); SECURITY H2, H7).
//!
//! `gen` prints one new `kid:base64` line for `.dev.vars` or `wrangler secret put DATA_KEYS`.
//! `check` reads `DATA_KEYS`, `DATA_KEY_ACTIVE` and `DATA_KEYS_RETIRED` from the environment and
//! reports OK or the reason, exactly as the Worker checks them at cold start. Neither prints key
//! material except `gen`'s one line on stdout.
//!
//! `reseal` runs the rotation step against a deployment: it calls `POST /v1/admin/reseal` batch
//! after batch until every room and archive is under the active key, showing progress and the
//! resume cursor after each batch. The operator key is read from a file, never the command line.

use clap::Subcommand;
use rxroom_core::envelope::{
    ConfigError, KeyConfig, KeyId, Keyring, SecretKey, ENV_DATA_KEYS, ENV_DATA_KEYS_RETIRED,
    ENV_DATA_KEY_ACTIVE,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// Data key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Print a new data key as one `kid:base64` line (stdout) for DATA_KEYS.
    Gen {
        /// Key id: 1 to 32 characters from [A-Za-z0-9_-]. Default: `k` and today's UTC date.
        #[arg(long)]
        kid: Option<String>,
    },
    /// Check DATA_KEYS, DATA_KEY_ACTIVE and DATA_KEYS_RETIRED from the environment.
    Check {
        /// Check as a dev environment (placeholder keys allowed).
        #[arg(long)]
        dev: bool,
    },
    /// Re-seal a deployment's rooms and archives under its active data key (resumable).
    Reseal {
        /// The deployment's base URL (https; http only for a loopback host).
        #[arg(long)]
        base_url: String,
        /// A file holding the deployment's OPERATOR_KEY (never passed on the command line).
        #[arg(long)]
        operator_key_file: PathBuf,
        /// Resume from this cursor (printed after every batch of an earlier run).
        #[arg(long)]
        cursor: Option<String>,
        /// Rooms or archives per batch (1 to 50).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=50))]
        batch: u32,
    },
}

/// Runs a `keys` command.
pub fn run(cmd: KeysCmd) -> ExitCode {
    match cmd {
        KeysCmd::Gen { kid } => gen(kid.as_deref()),
        KeysCmd::Check { dev } => check(dev),
        KeysCmd::Reseal {
            base_url,
            operator_key_file,
            cursor,
            batch,
        } => reseal(&base_url, &operator_key_file, cursor, batch),
    }
}

/// One batch's answer from `POST /v1/admin/reseal`.
#[derive(Debug, Deserialize)]
struct Batch {
    resealed: u64,
    already_current: u64,
    failed: u64,
    #[serde(default)]
    rooms: u64,
    #[serde(default)]
    archives: u64,
    cursor: Option<String>,
    phase: String,
}

/// Largest batch answer read, in bytes.
const MAX_BATCH_RESPONSE: u64 = 64 * 1024;

/// Most batches one run makes before giving up (a cursor that never ends is a server bug).
const MAX_BATCHES: u64 = 10_000_000;

/// The admin URL; plain http is refused except to a loopback host, so the operator key never
/// crosses a network in clear.
fn reseal_url(base: &str) -> Result<String, String> {
    let base = base.trim_end_matches('/');
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            base.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if !base.starts_with("https://") && !loopback {
        return Err("base URL must be https (http only for a loopback host)".into());
    }
    Ok(format!("{base}/v1/admin/reseal"))
}

/// Reads the operator key: one line of base64, at most 1 KiB.
fn read_operator_key(path: &Path) -> Result<Zeroizing<String>, String> {
    let raw = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|_| "cannot read the operator key file")?,
    );
    let key = Zeroizing::new(raw.trim().to_owned());
    if key.is_empty()
        || key.len() > 1024
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    {
        return Err("the operator key file does not hold one base64 key".into());
    }
    Ok(key)
}

fn reseal(base: &str, key_file: &Path, cursor: Option<String>, batch: u32) -> ExitCode {
    match run_reseal(base, key_file, cursor, batch) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failed) => {
            eprintln!("error: {failed} object(s) failed to re-seal; fix them and run again");
            ExitCode::from(1)
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Runs batches until the server says `done`. Returns the number of failed objects.
fn run_reseal(
    base: &str,
    key_file: &Path,
    mut cursor: Option<String>,
    batch: u32,
) -> Result<u64, String> {
    let url = reseal_url(base)?;
    let key = read_operator_key(key_file)?;
    let auth = Zeroizing::new(format!("Operator {}", key.as_str()));
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(300)))
            .build(),
    );

    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    let (mut resealed, mut current, mut failed, mut rooms, mut archives) = (0, 0, 0, 0, 0);
    let mut phase = String::from("rooms");
    for _ in 0..MAX_BATCHES {
        bar.set_message(format!(
            "{phase}: rooms {rooms}, archives {archives}; resealed {resealed}, current {current}, failed {failed}"
        ));
        let body = serde_json::json!({ "cursor": cursor, "limit": batch }).to_string();
        let answer = agent
            .post(&url)
            .header("Authorization", auth.as_str())
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .map_err(|_| resume_hint("request failed", cursor.as_deref()));
        let mut resp = match answer {
            Ok(r) => r,
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        };
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BATCH_RESPONSE)
            .read_to_string()
            .unwrap_or_default();
        if status != 200 {
            bar.abandon();
            let code = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "-".to_owned());
            return Err(resume_hint(
                &format!("server answered status {status} {code}"),
                cursor.as_deref(),
            ));
        }
        let b: Batch = match serde_json::from_str(&text) {
            Ok(b) => b,
            Err(_) => {
                bar.abandon();
                return Err(resume_hint("unreadable answer", cursor.as_deref()));
            }
        };
        resealed += b.resealed;
        current += b.already_current;
        failed += b.failed;
        rooms += b.rooms;
        archives += b.archives;
        phase = b.phase;
        cursor = b.cursor;
        match cursor.as_deref() {
            Some(c) => bar.suspend(|| eprintln!("cursor {c}")),
            None => break,
        }
    }
    bar.finish_and_clear();
    if cursor.is_some() {
        return Err(resume_hint("too many batches", cursor.as_deref()));
    }
    println!(
        "{} rooms={rooms} archives={archives} resealed={resealed} already_current={current} failed={failed}",
        if failed == 0 { "OK" } else { "FAILED" }
    );
    Ok(failed)
}

fn resume_hint(what: &str, cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!("{what}; resume with --cursor {c}"),
        None => format!("{what}; run again to resume from the start"),
    }
}

fn gen(kid: Option<&str>) -> ExitCode {
    let kid = match kid.map_or_else(|| KeyId::new(&default_kid()), KeyId::new) {
        Ok(kid) => kid,
        Err(e) => return fail(&e),
    };
    let key = match SecretKey::generate() {
        Ok(key) => key,
        Err(e) => return fail(&e),
    };
    println!("{kid}:{}", key.expose_base64().as_str());
    eprintln!(
        "new data key `{kid}`: append the line to {ENV_DATA_KEYS} (comma-separated), then set \
         {ENV_DATA_KEY_ACTIVE}={kid}; store it only as a secret, never in the repository"
    );
    ExitCode::SUCCESS
}

fn check(dev: bool) -> ExitCode {
    let read = |name: &str| match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::EntryMalformed),
    };
    let vars = (
        read(ENV_DATA_KEYS),
        read(ENV_DATA_KEY_ACTIVE),
        read(ENV_DATA_KEYS_RETIRED),
    );
    let (keys, active, retired) = match vars {
        (Ok(k), Ok(a), Ok(r)) => (k, a, r),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(&e),
    };
    let config = KeyConfig {
        data_keys: keys.as_deref(),
        active: active.as_deref(),
        retired: retired.as_deref(),
    };
    match Keyring::from_config(&config, dev) {
        Ok(ring) => {
            let readable: Vec<&str> = ring.readable_kids().map(KeyId::as_str).collect();
            let retired: Vec<&str> = ring.retired_kids().iter().map(KeyId::as_str).collect();
            println!(
                "OK active={} readable={} retired={}",
                ring.active_kid(),
                readable.join(","),
                if retired.is_empty() {
                    "-".to_owned()
                } else {
                    retired.join(",")
                },
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &ConfigError) -> ExitCode {
    eprintln!("CONFIG_INVALID {}: {e}", e.reason());
    ExitCode::FAILURE
}

/// `k` followed by today's UTC date, e.g. `k20261203`.
fn default_kid() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    format!("k{y:04}{m:02}{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (era-based conversion).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_map_to_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_790), (2026, 12, 3));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn reseal_url_requires_https_except_loopback() {
        assert_eq!(
            reseal_url("https://rx.example/").ok().as_deref(),
            Some("https://rx.example/v1/admin/reseal")
        );
        assert!(reseal_url("http://127.0.0.1:8787").is_ok());
        assert!(reseal_url("http://rx.example").is_err());
        assert!(reseal_url("http://localhost.evil.example").is_err());
    }

    #[test]
    fn operator_key_files_hold_one_base64_line() {
        let dir = std::env::temp_dir().join(format!("rxroom-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let good = dir.join("good");
        std::fs::write(&good, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n").expect("write");
        assert_eq!(
            read_operator_key(&good).ok().as_deref().map(String::as_str),
            Some("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=")
        );
        let bad = dir.join("bad");
        std::fs::write(&bad, "two words\n").expect("write");
        assert!(read_operator_key(&bad).is_err());
        assert!(read_operator_key(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn default_kid_is_a_valid_key_id() {
        let kid = default_kid();
        assert!(KeyId::new(&kid).is_ok());
        assert_eq!(kid.len(), 9);
    }
}
