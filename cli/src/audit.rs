//! `rxroom audit`: verify a chain or an export, export an order's history from a deployment,
//! and make an audit signing key (45 CFR 164.312(b) examination tooling).
//!
//! Exit codes: 0 verified, 1 tampering found, 2 the input or the request failed.

use clap::Subcommand;
use rxroom_core::audit::{
    verify_lines, AuditError, AuditPublicKey, AuditSigningKey, Checkpoint, Report,
};
use rxroom_core::ids::OrderId;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Audit tooling.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Verify a segment or an export file; prints OK with counts, or the first bad position.
    Verify {
        /// A JSON Lines file: a segment (events) or an export (header, events, messages,
        /// trailer); or a directory of one chain's segments (`*.jsonl`, read in name order).
        file: PathBuf,
        /// Signed checkpoints, one JSON object per line.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The audit public key (standard base64) that signed the checkpoints.
        #[arg(long)]
        pubkey: Option<String>,
    },
    /// Download an order's full history to a file, then verify it.
    Export {
        /// The deployment's base URL (https; http only for loopback).
        #[arg(long)]
        base_url: String,
        /// The order id.
        #[arg(long)]
        order: String,
        /// A file holding the auditor's bearer token (never passed on the command line).
        #[arg(long)]
        token_file: PathBuf,
        /// Where to write the export.
        #[arg(long)]
        out: PathBuf,
        /// Signed checkpoints to verify against, one JSON object per line.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The audit public key (standard base64).
        #[arg(long)]
        pubkey: Option<String>,
    },
    /// Print a new audit signing key pair.
    Keygen,
}

/// Runs a subcommand and returns the process exit code.
pub fn run(cmd: AuditCmd) -> i32 {
    let result = match cmd {
        AuditCmd::Verify {
            file,
            checkpoints,
            pubkey,
        } => verify_file(&file, checkpoints.as_deref(), pubkey.as_deref()),
        AuditCmd::Export {
            base_url,
            order,
            token_file,
            out,
            checkpoints,
            pubkey,
        } => export(&base_url, &order, &token_file, &out)
            .and_then(|()| verify_file(&out, checkpoints.as_deref(), pubkey.as_deref())),
        AuditCmd::Keygen => keygen(),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            2
        }
    }
}

fn verify_file(
    file: &Path,
    checkpoints: Option<&Path>,
    pubkey: Option<&str>,
) -> Result<i32, String> {
    let pubkey = pubkey
        .map(AuditPublicKey::from_base64)
        .transpose()
        .map_err(err)?;
    let checkpoints = match checkpoints {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|_| "cannot read the checkpoints file")?;
            Checkpoint::decode_lines(&text).map_err(err)?
        }
        None => Vec::new(),
    };
    let input = Segments::open(file).map_err(|_| "cannot open the input")?;
    let report = verify_lines(
        BufReader::with_capacity(1 << 16, input),
        &checkpoints,
        pubkey.as_ref(),
    )
    .map_err(err)?;
    println!("{}", describe(&report));
    if report.is_ok() && (report.checkpoints == 0 || !report.signatures_checked) {
        eprintln!(
            "note: without signed checkpoints and --pubkey, a truncated tail or a rewritten, \
             self-consistent chain cannot be detected"
        );
    }
    Ok(if report.is_ok() { 0 } else { 1 })
}

fn err(e: AuditError) -> String {
    e.to_string()
}

fn describe(r: &Report) -> String {
    let chain = r.chain.as_ref().map_or("-", |c| c.as_str());
    let sigs = if r.signatures_checked {
        "signatures checked"
    } else {
        "signatures not checked"
    };
    let counts = format!(
        "chain={chain} events={} messages={} checkpoints={} ({sigs}) head_seq={} head_hash={}",
        r.events, r.messages, r.checkpoints, r.head.seq, r.head.hash
    );
    match r.failure {
        None => format!("OK {counts}"),
        Some(f) => {
            let line = f
                .line
                .map(|l| format!(", input line {l}"))
                .unwrap_or_default();
            format!(
                "FAILED {} at event position {} (expected seq {}{line}); {counts}",
                f.kind, f.position, f.seq
            )
        }
    }
}

/// One file, or a directory's `*.jsonl` files in name order (the segment key order), read
/// one after another with at most one file open.
struct Segments {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<File>,
}

impl Segments {
    fn open(path: &Path) -> std::io::Result<Self> {
        let mut files = if path.is_dir() {
            std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect::<Vec<_>>()
        } else {
            vec![path.to_path_buf()]
        };
        files.sort();
        let mut files = files.into_iter();
        let current = files.next().map(File::open).transpose()?;
        Ok(Self { files, current })
    }
}

impl std::io::Read for Segments {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(f) = self.current.as_mut() {
            let n = f.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.current = self.files.next().map(File::open).transpose()?;
        }
        Ok(0)
    }
}

/// Refuses plain http except to a loopback host, so a token never crosses a network in clear.
fn export_url(base: &str, order: &OrderId) -> Result<String, String> {
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
    Ok(format!("{base}/v1/rooms/{}/audit/export", order.as_str()))
}

fn read_token(path: &Path) -> Result<Zeroizing<String>, String> {
    let raw =
        Zeroizing::new(std::fs::read_to_string(path).map_err(|_| "cannot read the token file")?);
    let token = Zeroizing::new(raw.trim().to_owned());
    if token.is_empty() || token.len() > 8 * 1024 || token.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err("the token file does not hold one token".into());
    }
    Ok(token)
}

fn export(base: &str, order: &str, token_file: &Path, out: &Path) -> Result<(), String> {
    let order: OrderId = order.parse().map_err(|_| "invalid order id")?;
    let url = export_url(base, &order)?;
    let token = read_token(token_file)?;
    let auth = Zeroizing::new(format!("Bearer {}", token.as_str()));

    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_connect(Some(std::time::Duration::from_secs(15)))
            .build(),
    );
    let mut resp = agent
        .get(&url)
        .header("Authorization", auth.as_str())
        .header("Accept", "application/x-ndjson")
        .call()
        .map_err(|_| "request failed")?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(format!("server answered status {status}"));
    }

    let len = resp.body().content_length();
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar} {eta}",
    ) {
        bar.set_style(style);
    }
    let file = File::create(out).map_err(|_| "cannot create the output file")?;
    let mut writer = BufWriter::with_capacity(1 << 16, file);
    let mut reader = bar.wrap_read(resp.body_mut().as_reader());
    std::io::copy(&mut reader, &mut writer).map_err(|_| "download interrupted")?;
    writer.flush().map_err(|_| "cannot write the output file")?;
    bar.finish();
    Ok(())
}

fn keygen() -> Result<i32, String> {
    let key = AuditSigningKey::generate().map_err(err)?;
    let public = key.public_key();
    let secret = key.to_base64();
    println!("# Audit signing key: a secret, e.g. `wrangler secret put AUDIT_SIGNING_KEY`");
    println!("AUDIT_SIGNING_KEY={}", secret.as_str());
    println!("# Public key: give it to auditors (`rxroom audit verify --pubkey ...`)");
    println!("AUDIT_PUBLIC_KEY={}", public.to_base64());
    println!("AUDIT_KEY_ID={}", public.key_id());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_url_requires_https_except_loopback() {
        let o: OrderId = "ord-1".parse().expect("valid order id");
        assert_eq!(
            export_url("https://rx.example/", &o).ok().as_deref(),
            Some("https://rx.example/v1/rooms/ord-1/audit/export")
        );
        assert!(export_url("http://127.0.0.1:8787", &o).is_ok());
        assert!(export_url("http://rx.example", &o).is_err());
        assert!(export_url("http://localhost.evil.example", &o).is_err());
    }

    fn export_body() -> String {
        use rxroom_core::audit::{
            AuditAction, Chain, ChainHead, ChainId, EventDraft, ExportHeader, ExportLine,
            ExportTrailer,
        };
        use rxroom_core::ids::Region;
        let order: OrderId = "ord-1".parse().expect("valid order id");
        let mut chain = Chain::resume(ChainId::order(&order), ChainHead::genesis());
        let mut body =
            ExportLine::Header(ExportHeader::new(order.clone(), Region::Us, 9, 3, 0)).to_line();
        for _ in 0..3 {
            let d = EventDraft {
                action: AuditAction::MessageRead,
                actor: None,
                role: None,
                ip: None,
                device: None,
                order: Some(order.clone()),
                target: None,
                outcome: "OK".into(),
                labels: vec![],
            };
            body.push_str(&ExportLine::Event(chain.append(d, 5)).to_line());
        }
        body.push_str(&ExportLine::Trailer(ExportTrailer::new(3, 0, chain.head())).to_line());
        body
    }

    #[test]
    fn export_sends_the_token_only_in_the_authorization_header_and_verifies() {
        use std::io::{BufRead, Read as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("loopback port");
        let port = listener.local_addr().expect("bound").port();
        let body = export_body();
        let server = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().expect("one client");
            let mut reader = std::io::BufReader::new(sock.try_clone().expect("socket clone"));
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_owned());
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).expect("reply");
            let _ = reader.read(&mut [0u8; 1]);
            head
        });

        let dir = std::env::temp_dir().join(format!("rxroom-cli-export-{port}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let token_file = dir.join("token");
        std::fs::write(&token_file, "tok-canary-123\n").expect("token file");
        let out = dir.join("export.jsonl");
        let base = format!("http://127.0.0.1:{port}");
        assert_eq!(export(&base, "ord-1", &token_file, &out), Ok(()));
        assert_eq!(verify_file(&out, None, None), Ok(0));

        let head = server.join().expect("server thread");
        let request_line = head.first().cloned().unwrap_or_default();
        assert_eq!(request_line, "GET /v1/rooms/ord-1/audit/export HTTP/1.1");
        assert!(head
            .iter()
            .any(|h| h.eq_ignore_ascii_case("authorization: Bearer tok-canary-123")));
        assert!(!request_line.contains("tok-canary"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
