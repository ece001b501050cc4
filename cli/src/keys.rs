//! `rxroom keys`: data keys for encryption at rest (45 CFR 164.312(a)(2)(iv); SECURITY H2, H7).
//!
//! `gen` prints one new `kid:base64` line for `.dev.vars` or `wrangler secret put DATA_KEYS`.
//! `check` reads `DATA_KEYS`, `DATA_KEY_ACTIVE` and `DATA_KEYS_RETIRED` from the environment and
//! reports OK or the reason, exactly as the Worker checks them at cold start. Neither prints key
//! material except `gen`'s one line on stdout.

use clap::Subcommand;
use rxroom_core::envelope::{
    ConfigError, KeyConfig, KeyId, Keyring, SecretKey, ENV_DATA_KEYS, ENV_DATA_KEYS_RETIRED,
    ENV_DATA_KEY_ACTIVE,
};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

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
}

/// Runs a `keys` command.
pub fn run(cmd: KeysCmd) -> ExitCode {
    match cmd {
        KeysCmd::Gen { kid } => gen(kid.as_deref()),
        KeysCmd::Check { dev } => check(dev),
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
    fn default_kid_is_a_valid_key_id() {
        let kid = default_kid();
        assert!(KeyId::new(&kid).is_ok());
        assert_eq!(kid.len(), 9);
    }
}
