//! Automatic logoff (45 CFR 164.312(a)(2)(iii), SECURITY.md D7): a live socket idle longer than
//! a configured time is closed by the server.
//!
//! The room adapter keeps the last activity time in the socket's serialized attachment, so the
//! idle clock survives Durable Object hibernation; this module only decides.

/// How long a live socket may stay idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdlePolicy {
    /// Idle time after which the socket is closed, in ms.
    pub idle_ms: u64,
}

impl IdlePolicy {
    /// The default: 15 minutes, the same as the longest dev token TTL we mint by default.
    /// HIPAA names no number; this is our choice, documented as such.
    pub const DEFAULT: IdlePolicy = IdlePolicy {
        idle_ms: 15 * 60 * 1000,
    };

    /// Whether a socket last active at `last_activity_ms` is idle at `now_ms`: idle for longer
    /// than `idle_ms`. A clock that moved backwards counts as activity, never as idleness.
    pub fn is_idle(&self, last_activity_ms: u64, now_ms: u64) -> bool {
        now_ms.saturating_sub(last_activity_ms) > self.idle_ms
    }

    /// The first instant at which the socket counts as idle, for scheduling an alarm.
    pub fn idle_at_ms(&self, last_activity_ms: u64) -> u64 {
        last_activity_ms
            .saturating_add(self.idle_ms)
            .saturating_add(1)
    }
}

impl Default for IdlePolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d7_socket_is_idle_only_after_the_configured_time() {
        let p = IdlePolicy { idle_ms: 1000 };
        assert!(!p.is_idle(5000, 5000));
        assert!(!p.is_idle(5000, 6000));
        assert!(p.is_idle(5000, 6001));
        assert_eq!(p.idle_at_ms(5000), 6001);
        assert!(p.is_idle(5000, p.idle_at_ms(5000)));
    }

    #[test]
    fn clock_moving_backwards_is_not_idleness() {
        let p = IdlePolicy { idle_ms: 1000 };
        assert!(!p.is_idle(10_000, 1));
        assert!(!IdlePolicy { idle_ms: u64::MAX }.is_idle(0, u64::MAX));
        assert_eq!(IdlePolicy::default().idle_ms, 900_000);
    }
}
