//! The review lifecycle of one version of a catalog entry, as a pure state
//! machine: [`transition`] says whether an action is allowed to an actor and
//! what follows; the store applies it, with the history step, in one
//! transaction.
//!
//! ```text
//!            submit            approve           publish
//!   Draft ───────────▶ Submitted ───────▶ Approved ───────▶ Published ──withdraw──▶ Withdrawn
//!     ▲                   │                                   │   ▲
//!     │ revise            │ return (reasons per field)        │   │ new_version: version n+1 starts
//!     └──── Returned ◀────┘                                   │   │ as a Draft; when n+1 is published,
//!                                                             │   │ n becomes Superseded
//!   Draft / Returned ──discard──▶ Discarded                   └───┘
//! ```
//!
//! Who may do what (roles from [`crate::org::Role`]):
//! - submit, revise, new_version, discard: a `provider` of the entry's provider department;
//! - approve, return, publish: the data `authority`; approve and return are
//!   refused to the version's author and submitter and to anyone of the
//!   provider's department — nobody reviews their own entry;
//! - withdraw: a provider of the department, or the authority.
//!
//! The automatic submission checks ([`super::checks`]) are the catalog
//! service's business before it calls `transition(.., Submit, ..)`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::org::Role;
use crate::{ApiError, ErrorCode};

/// Status of one version.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// 草稿: being written or revised by the provider.
    Draft,
    /// 待审核: waiting for the authority.
    Submitted,
    /// 已退回: sent back with reasons per field.
    Returned,
    /// 审核通过: approved, not yet published.
    Approved,
    /// 已发布: the current version of the entry.
    Published,
    /// 已被替代: an earlier published version, replaced by a newer one. Kept.
    Superseded,
    /// 已撤销: withdrawn from the catalog. Final.
    Withdrawn,
    /// 已作废: an unpublished draft abandoned by its provider. Final.
    Discarded,
}

impl EntryStatus {
    pub const ALL: [EntryStatus; 8] = [
        EntryStatus::Draft,
        EntryStatus::Submitted,
        EntryStatus::Returned,
        EntryStatus::Approved,
        EntryStatus::Published,
        EntryStatus::Superseded,
        EntryStatus::Withdrawn,
        EntryStatus::Discarded,
    ];

    /// Versions in these states are still being worked on; an entry has at
    /// most one such version beside its published one.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            EntryStatus::Draft | EntryStatus::Submitted | EntryStatus::Returned | EntryStatus::Approved
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Draft => "draft",
            EntryStatus::Submitted => "submitted",
            EntryStatus::Returned => "returned",
            EntryStatus::Approved => "approved",
            EntryStatus::Published => "published",
            EntryStatus::Superseded => "superseded",
            EntryStatus::Withdrawn => "withdrawn",
            EntryStatus::Discarded => "discarded",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EntryStatus::Draft => "草稿",
            EntryStatus::Submitted => "待审核",
            EntryStatus::Returned => "已退回",
            EntryStatus::Approved => "审核通过",
            EntryStatus::Published => "已发布",
            EntryStatus::Superseded => "已被替代",
            EntryStatus::Withdrawn => "已撤销",
            EntryStatus::Discarded => "已作废",
        }
    }

    /// The English label is the status code itself.
    pub fn label_en(self) -> &'static str {
        self.as_str()
    }
}

/// A returned field and why: what the reviewer tells the provider to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnReason {
    /// Field path in the draft, e.g. `items[3].length` or `legal_basis`.
    pub field: String,
    pub reason: String,
}

/// What someone asks to do to a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Submit,
    Approve {
        #[serde(default)]
        comment: Option<String>,
    },
    /// Send back to the provider; at least one reason.
    Return {
        reasons: Vec<ReturnReason>,
    },
    /// Reopen a returned version for editing.
    Revise,
    Publish,
    /// Start version n+1 of a published entry.
    NewVersion,
    Withdraw {
        reason: String,
    },
    Discard,
}

/// The kind of an [`Action`], without its data: for messages and history.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Submit,
    Approve,
    Return,
    Revise,
    Publish,
    NewVersion,
    Withdraw,
    Discard,
}

impl ActionKind {
    pub const ALL: [ActionKind; 8] = [
        ActionKind::Submit,
        ActionKind::Approve,
        ActionKind::Return,
        ActionKind::Revise,
        ActionKind::Publish,
        ActionKind::NewVersion,
        ActionKind::Withdraw,
        ActionKind::Discard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Submit => "submit",
            ActionKind::Approve => "approve",
            ActionKind::Return => "return",
            ActionKind::Revise => "revise",
            ActionKind::Publish => "publish",
            ActionKind::NewVersion => "new_version",
            ActionKind::Withdraw => "withdraw",
            ActionKind::Discard => "discard",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ActionKind::Submit => "提交",
            ActionKind::Approve => "审核通过",
            ActionKind::Return => "退回",
            ActionKind::Revise => "修改",
            ActionKind::Publish => "发布",
            ActionKind::NewVersion => "新建版本",
            ActionKind::Withdraw => "撤销",
            ActionKind::Discard => "作废",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ActionKind::Submit => "submit",
            ActionKind::Approve => "approve",
            ActionKind::Return => "return",
            ActionKind::Revise => "revise",
            ActionKind::Publish => "publish",
            ActionKind::NewVersion => "new version",
            ActionKind::Withdraw => "withdraw",
            ActionKind::Discard => "discard",
        }
    }

    /// The one status the action applies to, and the status it leads to.
    /// `NewVersion` leaves the published version as it is.
    pub fn edge(self) -> (EntryStatus, EntryStatus) {
        use EntryStatus::*;
        match self {
            ActionKind::Submit => (Draft, Submitted),
            ActionKind::Approve => (Submitted, Approved),
            ActionKind::Return => (Submitted, Returned),
            ActionKind::Revise => (Returned, Draft),
            ActionKind::Publish => (Approved, Published),
            ActionKind::NewVersion => (Published, Published),
            ActionKind::Withdraw => (Published, Withdrawn),
            // Discard also applies to Returned, see `allowed_from`.
            ActionKind::Discard => (Draft, Discarded),
        }
    }

    /// Whether the action applies to a version in `status`.
    pub fn allowed_from(self, status: EntryStatus) -> bool {
        match self {
            ActionKind::Discard => matches!(status, EntryStatus::Draft | EntryStatus::Returned),
            _ => self.edge().0 == status,
        }
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Submit => ActionKind::Submit,
            Action::Approve { .. } => ActionKind::Approve,
            Action::Return { .. } => ActionKind::Return,
            Action::Revise => ActionKind::Revise,
            Action::Publish => ActionKind::Publish,
            Action::NewVersion => ActionKind::NewVersion,
            Action::Withdraw { .. } => ActionKind::Withdraw,
            Action::Discard => ActionKind::Discard,
        }
    }
}

/// A person as recorded on a version: who wrote or submitted it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActorRef {
    pub user_id: String,
    pub department_id: String,
}

/// Who is acting, as the server authenticated them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActorContext {
    pub user_id: String,
    pub department_id: String,
    pub roles: Vec<Role>,
}

impl ActorContext {
    pub fn new(user_id: impl Into<String>, department_id: impl Into<String>, roles: &[Role]) -> Self {
        ActorContext { user_id: user_id.into(), department_id: department_id.into(), roles: roles.to_vec() }
    }

    pub fn actor_ref(&self) -> ActorRef {
        ActorRef { user_id: self.user_id.clone(), department_id: self.department_id.clone() }
    }

    fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// What [`transition`] needs to know about the version acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionState {
    pub version: u32,
    /// The highest version number the entry has (>= `version`), discarded
    /// ones included: `new_version` numbers the new one after it.
    pub latest_version: u32,
    pub status: EntryStatus,
    /// The department that provides the entry (owns it).
    pub provider_department_id: String,
    /// Who created this version.
    pub author: ActorRef,
    /// Who last submitted it.
    #[serde(default)]
    pub submitted_by: Option<ActorRef>,
    /// Whether the entry already has a newer open version (draft, submitted,
    /// returned or approved) — then no second one may start, and the published
    /// one may not be withdrawn under it.
    #[serde(default)]
    pub newer_version_open: bool,
}

/// The outcome of an allowed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Transition {
    pub action: ActionKind,
    pub version: u32,
    pub from: EntryStatus,
    /// The new status of this version.
    pub to: EntryStatus,
    /// Set by `new_version`: the store creates this version as a draft, with
    /// the published metadata as its starting point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creates_version: Option<u32>,
    /// Set by `publish` of a version after the first: the store marks the
    /// entry's currently published version superseded. (There is exactly one:
    /// new versions start only from a published one, which cannot be
    /// withdrawn while the new version is open.)
    pub supersedes_published: bool,
    /// Set by `submit`: record the actor as the version's submitter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<ActorRef>,
}

impl Transition {
    /// The history record of this step: who, when and why.
    pub fn history_step(&self, action: &Action, actor: &ActorContext, at: OffsetDateTime) -> HistoryStep {
        let (comment, reasons) = match action {
            Action::Approve { comment } => (comment.clone(), Vec::new()),
            Action::Withdraw { reason } => (Some(reason.clone()), Vec::new()),
            Action::Return { reasons } => (None, reasons.clone()),
            _ => (None, Vec::new()),
        };
        HistoryStep {
            version: self.version,
            action: self.action,
            from: self.from,
            to: self.to,
            actor: actor.actor_ref(),
            at,
            comment,
            reasons,
        }
    }
}

/// One step of an entry's history, kept forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryStep {
    pub version: u32,
    pub action: ActionKind,
    pub from: EntryStatus,
    pub to: EntryStatus,
    pub actor: ActorRef,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// The approval comment or withdrawal reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The per-field reasons of a return.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<ReturnReason>,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action} version {version}: it is {status}; {action} applies only to {expected} versions", action = .action.as_str(), status = .status.as_str())]
    WrongStatus { action: ActionKind, version: u32, status: EntryStatus, expected: &'static str },
    #[error("{action} needs the {role} role", action = .action.as_str())]
    MissingRole { action: ActionKind, role: Role },
    #[error("only the provider department may {action} its entry", action = .action.as_str())]
    NotProvider { action: ActionKind },
    #[error("nobody reviews their own entry: {why}")]
    OwnEntry { why: String },
    #[error("a newer version of this entry (version {latest}) is still open; finish or discard it first")]
    NewerVersionOpen { latest: u32 },
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
}

impl ApiError for TransitionError {
    fn code(&self) -> ErrorCode {
        match self {
            TransitionError::WrongStatus { .. } | TransitionError::NewerVersionOpen { .. } => {
                ErrorCode::Conflict
            }
            TransitionError::MissingRole { .. }
            | TransitionError::NotProvider { .. }
            | TransitionError::OwnEntry { .. } => ErrorCode::Forbidden,
            TransitionError::BadInput { .. } => ErrorCode::InvalidInput,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            TransitionError::BadInput { field, .. } => Some(field),
            _ => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            TransitionError::BadInput { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

fn bad_input(field: impl Into<String>, message: impl Into<String>) -> TransitionError {
    TransitionError::BadInput { field: field.into(), message: message.into() }
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Decides one step. Refuses, with the reason, an action that does not apply
/// to the version's status, an actor without the role or outside the provider
/// department, review of one's own entry, and actions missing their reasons.
pub fn transition(
    current: &VersionState,
    action: &Action,
    actor: &ActorContext,
) -> Result<Transition, TransitionError> {
    let kind = action.kind();
    if !kind.allowed_from(current.status) {
        let expected = match kind {
            ActionKind::Discard => "draft or returned",
            _ => kind.edge().0.as_str(),
        };
        return Err(TransitionError::WrongStatus {
            action: kind,
            version: current.version,
            status: current.status,
            expected,
        });
    }

    let provider_of_entry = |actor: &ActorContext| -> Result<(), TransitionError> {
        if !actor.has(Role::Provider) {
            return Err(TransitionError::MissingRole { action: kind, role: Role::Provider });
        }
        if actor.department_id != current.provider_department_id {
            return Err(TransitionError::NotProvider { action: kind });
        }
        Ok(())
    };
    let authority = |actor: &ActorContext| -> Result<(), TransitionError> {
        if actor.has(Role::Authority) {
            Ok(())
        } else {
            Err(TransitionError::MissingRole { action: kind, role: Role::Authority })
        }
    };

    match action {
        Action::Submit | Action::Revise | Action::Discard => provider_of_entry(actor)?,
        Action::NewVersion => {
            provider_of_entry(actor)?;
            if current.newer_version_open {
                return Err(TransitionError::NewerVersionOpen { latest: current.latest_version });
            }
        }
        Action::Approve { .. } | Action::Return { .. } => {
            authority(actor)?;
            refuse_own_entry(current, actor)?;
            if let Action::Return { reasons } = action {
                check_reasons(reasons)?;
            }
        }
        Action::Publish => authority(actor)?,
        Action::Withdraw { reason } => {
            if !actor.has(Role::Authority) {
                provider_of_entry(actor)?;
            }
            if blank(reason) {
                return Err(bad_input("reason", "a withdrawal needs a reason"));
            }
            if current.newer_version_open {
                return Err(TransitionError::NewerVersionOpen { latest: current.latest_version });
            }
        }
    }

    let (_, to) = kind.edge();
    Ok(Transition {
        action: kind,
        version: current.version,
        from: current.status,
        to,
        creates_version: (kind == ActionKind::NewVersion)
            .then_some(current.latest_version.max(current.version) + 1),
        supersedes_published: kind == ActionKind::Publish && current.version > 1,
        submitted_by: (kind == ActionKind::Submit).then(|| actor.actor_ref()),
    })
}

/// Nobody approves (or returns) their own entry: not its author, not its
/// submitter, and no one of the provider department — a department does not
/// review its own catalog; its reviewer is the data authority, registered as
/// a department of its own.
fn refuse_own_entry(current: &VersionState, actor: &ActorContext) -> Result<(), TransitionError> {
    let why = if actor.user_id == current.author.user_id {
        Some(format!("{} wrote version {}", actor.user_id, current.version))
    } else if current.submitted_by.as_ref().is_some_and(|s| s.user_id == actor.user_id) {
        Some(format!("{} submitted version {}", actor.user_id, current.version))
    } else if actor.department_id == current.provider_department_id
        || current.submitted_by.as_ref().is_some_and(|s| s.department_id == actor.department_id)
    {
        Some(format!("department {} provides this entry", actor.department_id))
    } else {
        None
    };
    match why {
        Some(why) => Err(TransitionError::OwnEntry { why }),
        None => Ok(()),
    }
}

fn check_reasons(reasons: &[ReturnReason]) -> Result<(), TransitionError> {
    if reasons.is_empty() {
        return Err(bad_input("reasons", "a return needs at least one reason naming a field"));
    }
    for (i, r) in reasons.iter().enumerate() {
        if blank(&r.field) {
            return Err(bad_input(format!("reasons[{i}].field"), "name the field to fix"));
        }
        if blank(&r.reason) {
            return Err(bad_input(format!("reasons[{i}].reason"), "say what is wrong with the field"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_match_allowed_from() {
        for kind in ActionKind::ALL {
            assert!(kind.allowed_from(kind.edge().0), "{kind:?}");
        }
        assert!(ActionKind::Discard.allowed_from(EntryStatus::Returned));
    }

    #[test]
    fn actions_serialize_tagged() {
        let action = Action::Return {
            reasons: vec![ReturnReason { field: "name".into(), reason: "太笼统".into() }],
        };
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"action": "return", "reasons": [{"field": "name", "reason": "太笼统"}]})
        );
        assert_eq!(serde_json::from_value::<Action>(json).unwrap(), action);
        let approve: Action = serde_json::from_str(r#"{"action":"approve"}"#).unwrap();
        assert_eq!(approve, Action::Approve { comment: None });
        assert!(serde_json::from_str::<Action>(r#"{"action":"approve","x":1}"#).is_err());
    }
}
