//! Deployment configuration, read from the Worker's vars and secrets and checked on every cold
//! start path before a request is served.

use rxroom_core::ids::Region;
use worker::Env;

/// What the deployment says about itself.
#[derive(Debug, Clone)]
pub struct Config {
    /// `true` only when `ENVIRONMENT` is `dev` (local runs and tests).
    pub dev: bool,
    /// The region this deployment serves.
    pub region: Region,
}

/// Why the configuration was refused. Logged by name; the client sees `CONFIG_INVALID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `REGION` is missing or not one of us, eu, apac.
    Region,
}

impl ConfigError {
    /// The reason's log name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
        }
    }
}

impl Config {
    /// Reads and checks the configuration.
    pub fn load(env: &Env) -> Result<Self, ConfigError> {
        let dev = env
            .var("ENVIRONMENT")
            .map(|v| v.to_string() == "dev")
            .unwrap_or(false);
        let region = env
            .var("REGION")
            .ok()
            .and_then(|v| v.to_string().parse::<Region>().ok())
            .ok_or(ConfigError::Region)?;
        Ok(Self { dev, region })
    }
}
