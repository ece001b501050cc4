//! `rxroom keygen` and `rxroom token`: the local dev key and dev tokens for each role
//! (45 CFR 164.312(d) testing aid). The private key stays in a 0600 file that setup creates and
//! git ignores; only the public JWKS goes into `.dev.vars` as `AUTH_JWKS`.

use clap::Subcommand;
use rxroom_core::claims::config::{DEFAULT_AUDIENCE, DEV_ISSUER};
use rxroom_core::claims::mint::{mint_token, DevSigningKey, TokenSpec, Zeroizing};
use rxroom_core::claims::Scope;
use rxroom_core::clock::{Clock, SystemClock};
use rxroom_core::ids::{DeviceId, OrderId, Region, Role, TenantId, UserId};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

/// The file name of the dev signing key inside `--out-dir`.
pub const KEY_FILE: &str = "signing-key.jwk.json";

/// Dev identity commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the dev Ed25519 signing key (DIR/signing-key.jwk.json, mode 0600) and print the
    /// public JWKS for AUTH_JWKS. Reuses an existing key unless --force.
    Keygen {
        /// Directory for the private key file.
        #[arg(long)]
        out_dir: PathBuf,
        /// Replace an existing key (tokens signed with the old key stop verifying).
        #[arg(long)]
        force: bool,
    },
    /// Print a signed dev token (stdout carries only the token).
    Token {
        /// The private key file written by `rxroom keygen`.
        #[arg(long)]
        key: PathBuf,
        /// pharmacist, driver, patient, dispatcher or auditor.
        #[arg(long)]
        role: String,
        /// The user id (`sub`).
        #[arg(long)]
        sub: String,
        /// An order the token covers (drivers and patients; repeat for several).
        #[arg(long = "order")]
        orders: Vec<String>,
        /// The tenant (pharmacists, dispatchers, auditors).
        #[arg(long)]
        tenant: Option<String>,
        /// us, eu or apac.
        #[arg(long)]
        region: String,
        /// The device id (`dev`).
        #[arg(long)]
        device: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 900)]
        ttl_secs: u64,
        /// Issuer.
        #[arg(long, default_value = DEV_ISSUER)]
        iss: String,
        /// Audience.
        #[arg(long, default_value = DEFAULT_AUDIENCE)]
        aud: String,
    },
}

/// Runs one command; errors go to stderr as a short phrase, never with key or token material.
pub fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Keygen { out_dir, force } => keygen(&out_dir, force),
        Command::Token {
            key,
            role,
            sub,
            orders,
            tenant,
            region,
            device,
            ttl_secs,
            iss,
            aud,
        } => token(
            &key,
            &role,
            &sub,
            &orders,
            tenant.as_deref(),
            &region,
            &device,
            ttl_secs,
            iss,
            aud,
        ),
    };
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "{out}").is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("rxroom: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Creates or reuses the dev key and returns the public JWKS.
fn keygen(out_dir: &Path, force: bool) -> Result<String, String> {
    let path = out_dir.join(KEY_FILE);
    if path.exists() && !force {
        let key = read_key(&path)?;
        eprintln!("rxroom: reusing {} (kid {})", path.display(), key.kid());
        return Ok(key.public_jwks());
    }
    fs::create_dir_all(out_dir).map_err(|_| "cannot create the output directory".to_owned())?;
    let key = DevSigningKey::generate().map_err(|e| e.to_string())?;
    if path.exists() {
        fs::remove_file(&path).map_err(|_| "cannot replace the key file".to_owned())?;
    }
    write_private(&path, key.private_jwk().as_bytes())?;
    eprintln!("rxroom: wrote {} (kid {})", path.display(), key.kid());
    Ok(key.public_jwks())
}

/// Writes a new file readable and writable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|_| "cannot create the key file".to_owned())?;
    file.write_all(bytes)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|_| "cannot write the key file".to_owned())
}

fn read_key(path: &Path) -> Result<DevSigningKey, String> {
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|_| "cannot read the key file".to_owned())?,
    );
    DevSigningKey::from_private_jwk(text.trim()).map_err(|e| e.to_string())
}

#[allow(clippy::too_many_arguments)] // one argument per CLI flag
fn token(
    key_path: &Path,
    role: &str,
    sub: &str,
    orders: &[String],
    tenant: Option<&str>,
    region: &str,
    device: &str,
    ttl_secs: u64,
    issuer: String,
    audience: String,
) -> Result<String, String> {
    let key = read_key(key_path)?;
    let role = Role::from_str(role).map_err(|_| "unknown role".to_owned())?;
    let scope = match (role, orders.is_empty(), tenant) {
        (Role::Driver | Role::Patient, false, None) => Scope::Orders(
            orders
                .iter()
                .map(|o| OrderId::from_str(o))
                .collect::<Result<_, _>>()
                .map_err(|_| "invalid order id".to_owned())?,
        ),
        (Role::Pharmacist | Role::Dispatcher | Role::Auditor, true, Some(t)) => {
            Scope::Tenant(TenantId::from_str(t).map_err(|_| "invalid tenant id".to_owned())?)
        }
        (Role::Driver | Role::Patient, _, _) => {
            return Err("drivers and patients need --order and no --tenant".to_owned())
        }
        _ => return Err("this role needs --tenant and no --order".to_owned()),
    };
    let spec = TokenSpec {
        issuer,
        audience,
        subject: UserId::from_str(sub).map_err(|_| "invalid --sub".to_owned())?,
        role,
        scope,
        region: Region::from_str(region).map_err(|_| "unknown region".to_owned())?,
        device: DeviceId::from_str(device).map_err(|_| "invalid --device".to_owned())?,
        ttl_secs,
    };
    mint_token(&key, &spec, SystemClock.now_ms()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rxroom_core::claims::{AuthConfig, Verifier};

    fn scratch_dir(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        std::env::temp_dir().join(format!("rxroom-{name}-{}-{nanos}", std::process::id()))
    }

    #[test]
    fn keygen_writes_an_owner_only_key_once_and_replaces_it_only_with_force() {
        let dir = scratch_dir("keygen");
        let first = keygen(&dir, false).expect("creates the key");
        let path = dir.join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path)
                .expect("file exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            keygen(&dir, false).expect("reuses the key"),
            first,
            "idempotent"
        );
        let replaced = keygen(&dir, true).expect("replaces the key");
        assert_ne!(replaced, first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path)
                .expect("file exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "still owner-only after --force");
        }
        assert!(
            !replaced.contains("\"d\""),
            "stdout carries the public set only"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn token_verifies_against_the_printed_jwks_and_refuses_a_wrong_scope() {
        let dir = scratch_dir("token");
        let jwks = keygen(&dir, false).expect("creates the key");
        let key = dir.join(KEY_FILE);
        let orders = vec!["ord-1".to_owned()];
        let t = token(
            &key,
            "driver",
            "u-1",
            &orders,
            None,
            "us",
            "phone-1",
            900,
            "rxroom-dev".into(),
            "rxroom".into(),
        )
        .expect("mints");
        let v = Verifier::new(AuthConfig::dev(), &jwks).expect("printed jwks is valid");
        let p = v.verify(&t, SystemClock.now_ms()).expect("verifies");
        assert_eq!(p.user().as_str(), "u-1");
        let t = token(
            &key,
            "pharmacist",
            "u-2",
            &[],
            Some("pharm-1"),
            "eu",
            "desk",
            900,
            "rxroom-dev".into(),
            "rxroom".into(),
        )
        .expect("mints");
        assert!(v.verify(&t, SystemClock.now_ms()).is_ok());
        let wrong = token(
            &key,
            "pharmacist",
            "u-2",
            &orders,
            None,
            "us",
            "d",
            900,
            "rxroom-dev".into(),
            "rxroom".into(),
        );
        assert!(wrong.is_err());
        let wrong = token(
            &key,
            "driver",
            "u-2",
            &[],
            Some("pharm-1"),
            "us",
            "d",
            900,
            "rxroom-dev".into(),
            "rxroom".into(),
        );
        assert!(wrong.is_err());
        let _ = fs::remove_dir_all(&dir);
    }
}
