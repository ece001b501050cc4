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
#[rustfmt::skip] // one row per role, one column per action: keep the grid readable
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

#[cfg(test)]
mod tests {
    //! Every cell of both tables, written out by hand: a change to either table must change
    //! this file too, in the same review.
    use super::*;
    use Visibility::{FirstNameOnly as F, Redacted as R, Visible as V};

    /// Roles × actions, as a list of what each role may do. Anything not listed is refused.
    fn expected_allowed(role: Role) -> &'static [Action] {
        use Action::*;
        match role {
            Role::Pharmacist => &[
                CreateRoom,
                Send,
                ReadHistory,
                ConnectLive,
                MarkDelivered,
                UploadMedia,
                ViewMedia,
                ReadReceipts,
            ],
            Role::Driver => &[
                Send,
                ReadHistory,
                ConnectLive,
                MarkDelivered,
                UploadMedia,
                ViewMedia,
                ReadReceipts,
            ],
            Role::Patient => &[Send, ReadHistory, ConnectLive, ViewMedia, ReadReceipts],
            Role::Dispatcher => &[
                CreateRoom,
                Send,
                ReadHistory,
                ConnectLive,
                ViewMedia,
                ReadReceipts,
            ],
            Role::Auditor => &[ExportAudit],
        }
    }

    #[test]
    fn every_role_action_cell_matches_the_written_matrix() {
        let mut cells = 0;
        for role in Role::ALL {
            for action in Action::ALL {
                let expected = expected_allowed(role).contains(&action);
                assert_eq!(allows(role, action), expected, "{role:?} × {action:?}");
                cells += 1;
            }
        }
        assert_eq!(cells, 50);
    }

    #[test]
    fn no_role_operates_keys_and_only_auditors_export() {
        for role in Role::ALL {
            assert!(!allows(role, Action::OperateKeys), "{role:?}");
            assert_eq!(
                allows(role, Action::ExportAudit),
                role == Role::Auditor,
                "{role:?}"
            );
        }
    }

    /// Roles × labels. Columns: pharmacist, driver, patient, dispatcher, auditor.
    const EXPECTED_VISIBILITY: [(Label, [Visibility; 5]); 20] = [
        (Label::Name, [V, F, V, F, V]),
        (Label::Address, [V, V, V, V, V]),
        (Label::Zip, [V, V, V, V, V]),
        (Label::Dob, [V, R, V, R, V]),
        (Label::Date, [V, R, V, R, V]),
        (Label::Age, [V, R, V, R, V]),
        (Label::Phone, [V, R, V, R, V]),
        (Label::Email, [V, R, V, R, V]),
        (Label::Ssn, [V, R, V, R, V]),
        (Label::Mrn, [V, R, V, R, V]),
        (Label::InsuranceId, [V, R, V, R, V]),
        (Label::Mbi, [V, R, V, R, V]),
        (Label::RxNumber, [V, R, V, R, V]),
        (Label::Npi, [V, R, V, R, V]),
        (Label::Dea, [V, R, V, R, V]),
        (Label::CreditCard, [V, R, V, R, V]),
        (Label::IpAddress, [V, R, V, R, V]),
        (Label::Url, [V, R, V, R, V]),
        (Label::Medication, [V, R, V, R, V]),
        (Label::Diagnosis, [V, R, V, R, V]),
    ];

    const COLUMNS: [Role; 5] = [
        Role::Pharmacist,
        Role::Driver,
        Role::Patient,
        Role::Dispatcher,
        Role::Auditor,
    ];

    #[test]
    fn every_role_label_cell_matches_the_written_matrix() {
        let mut cells = 0;
        for (label, row) in EXPECTED_VISIBILITY {
            for (role, expected) in COLUMNS.iter().zip(row) {
                assert_eq!(visibility(*role, label), expected, "{role:?} × {label:?}");
                cells += 1;
            }
        }
        assert_eq!(cells, 100);
        let labels: Vec<Label> = EXPECTED_VISIBILITY.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            labels,
            Label::ALL.to_vec(),
            "the matrix must list every label once"
        );
    }

    #[test]
    fn may_see_follows_visibility_and_name_parts() {
        let parts = [NamePart::Whole, NamePart::First, NamePart::Last];
        for (label, row) in EXPECTED_VISIBILITY {
            for (role, vis) in COLUMNS.iter().zip(row) {
                for part in parts {
                    let expected = match vis {
                        V => true,
                        R => false,
                        F => part == NamePart::First,
                    };
                    assert_eq!(
                        may_see(*role, label, part),
                        expected,
                        "{role:?} {label:?} {part:?}"
                    );
                }
            }
        }
        assert!(may_see(Role::Driver, Label::Name, NamePart::First));
        assert!(!may_see(Role::Driver, Label::Name, NamePart::Last));
        assert!(!may_see(Role::Driver, Label::Name, NamePart::Whole));
        assert!(!may_see(Role::Driver, Label::Medication, NamePart::Whole));
    }
}
