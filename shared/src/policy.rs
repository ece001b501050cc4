//! Minimum necessary (45 CFR 164.502(b), 164.312(a)(1)): what each role may do, and which PHI
//! labels each role may see. Both are tables of data, so that every cell can be read, reviewed
//! and tested on its own.

use crate::ids::Role;
use crate::labels::{Label, NamePart};

/// Something a principal may try to do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create the room for an order.
    CreateRoom,
    /// Send a message.
    Send,
    /// Read message history.
    ReadHistory,
    /// Open a live WebSocket.
    ConnectLive,
    /// Mark the order signed and delivered.
    MarkDelivered,
    /// Upload a proof-of-delivery photo.
    UploadMedia,
    /// View a photo.
    ViewMedia,
    /// Send or read read-receipts.
    ReadReceipts,
    /// Export an order's audit trail and full history.
    ExportAudit,
    /// Rotate, retire or re-seal encryption keys.
    OperateKeys,
}

impl Action {
    /// Every action, in table order.
    pub const ALL: [Action; 10] = [
        Self::CreateRoom,
        Self::Send,
        Self::ReadHistory,
        Self::ConnectLive,
        Self::MarkDelivered,
        Self::UploadMedia,
        Self::ViewMedia,
        Self::ReadReceipts,
        Self::ExportAudit,
        Self::OperateKeys,
    ];
}

/// Roles × actions. Rows follow [`Role::ALL`], columns follow [`Action::ALL`].
///
/// Key operations belong to no chat role: they are done by operators with the deployment's
/// secrets through the CLI, never through a token.
const ROLE_ACTIONS: [[bool; 10]; 5] = [
    // create send  read   live   deliv  upload view   rcpt   export keys
    [true, true, true, true, true, true, true, true, false, false], // pharmacist
    [
        false, true, true, true, true, true, true, true, false, false,
    ], // driver
    [
        false, true, true, true, false, false, true, true, false, false,
    ], // patient
    [
        true, true, true, true, false, false, true, true, false, false,
    ], // dispatcher
    [
        false, false, false, false, false, false, false, false, true, false,
    ], // auditor
];

fn role_row(role: Role) -> usize {
    match role {
        Role::Pharmacist => 0,
        Role::Driver => 1,
        Role::Patient => 2,
        Role::Dispatcher => 3,
        Role::Auditor => 4,
    }
}

/// Whether `role` may perform `action` at all (membership and deadlines are checked elsewhere).
pub fn allows(role: Role, action: Action) -> bool {
    let col = Action::ALL.iter().position(|a| *a == action);
    match (ROLE_ACTIONS.get(role_row(role)), col) {
        (Some(row), Some(col)) => row.get(col).copied().unwrap_or(false),
        _ => false,
    }
}

/// What a role sees of one label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Shown as written.
    Visible,
    /// Replaced by the label's placeholder.
    Redacted,
    /// For names: the first name stays, the rest is replaced.
    FirstNameOnly,
}

/// Roles × labels (LABELS.md section 5). The driver sees what delivery needs: address, ZIP and
/// a first name. Dispatchers get the driver's view (they route deliveries, they do not treat
/// patients). Auditors read exports in the full view.
pub fn visibility(role: Role, label: Label) -> Visibility {
    match role {
        Role::Pharmacist | Role::Patient | Role::Auditor => Visibility::Visible,
        Role::Driver | Role::Dispatcher => match label {
            Label::Address | Label::Zip => Visibility::Visible,
            Label::Name => Visibility::FirstNameOnly,
            _ => Visibility::Redacted,
        },
    }
}

/// Whether `role` sees a finding of `label` (and, for names, `part`) unredacted.
pub fn may_see(role: Role, label: Label, part: NamePart) -> bool {
    match visibility(role, label) {
        Visibility::Visible => true,
        Visibility::Redacted => false,
        Visibility::FirstNameOnly => part == NamePart::First,
    }
}
