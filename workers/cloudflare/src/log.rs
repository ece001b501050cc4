//! Structured logs from an allow-list of fields.
//!
//! A log line is built only from [`LogLine`], whose fields are ids, route templates, enums and
//! numbers. There is no field for text, bodies, headers, tokens or URLs, so none can be logged.

use serde::Serialize;

/// One request's log line. Every field is on the allow-list by construction.
#[derive(Debug, Serialize)]
pub struct LogLine<'a> {
    /// Always `"request"` for request lines, `"event"` for lifecycle events.
    pub kind: &'static str,
    /// The request id sent back in `x-request-id`.
    pub request_id: &'a str,
    /// The matched route template (`/v1/rooms/{order_id}`), never the raw path.
    pub route: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The response status.
    pub status: u16,
    /// The stable error code, when the request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Why, for failures whose reason is not sent to the client (an enum name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Milliseconds from receipt to response.
    pub latency_ms: u64,
}

impl LogLine<'_> {
    /// Writes the line to the platform log as one JSON object.
    pub fn emit(&self) {
        if let Ok(json) = serde_json::to_string(self) {
            worker::console_log!("{json}");
        }
    }
}

/// Logs a lifecycle event that has no request (an alarm, a configuration refusal).
pub fn event(name: &'static str, reason: Option<&'static str>) {
    #[derive(Serialize)]
    struct EventLine {
        kind: &'static str,
        event: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'static str>,
    }
    if let Ok(json) = serde_json::to_string(&EventLine {
        kind: "event",
        event: name,
        reason,
    }) {
        worker::console_log!("{json}");
    }
}
