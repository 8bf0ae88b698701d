//! Authorization, decided here and only here. Handlers name the [`Action`]
//! they are about to perform; this module says whether the principal may.

use govdata_model::org::Role;

use crate::auth::Principal;
use crate::error::HttpError;

/// Something a caller asks to do, with the facts the decision needs.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// List departments and information systems.
    ReadOrganisation,
    CreateDepartment,
    /// Register an information system for a department.
    CreateSystem {
        department_id: &'a str,
    },
    /// See user accounts.
    ReadUsers,
    CreateUser,
    /// Change the roles of an existing account.
    AssignRoles,
    /// Unlock, disable or enable an account.
    ManageAccount,
    /// Issue an API key for a department, carrying these roles.
    CreateApiKey {
        department_id: &'a str,
        roles: &'a [Role],
    },
    ReadApiKeys {
        department_id: &'a str,
    },
    RevokeApiKey {
        department_id: &'a str,
    },
    /// Read ledger entries (who did what).
    ReadLedger,
    /// Issue join tokens, join a parent, suspend or resume joined nodes.
    ManageFederation,
    /// Apply for, follow and read entries owned at other nodes.
    UseOtherNodes,
    /// Return data to a child node (数据回流), or read what a parent returned.
    ReturnData,
}

/// Roles that act for their own department's applications.
const DEPARTMENT_ROLES: [Role; 3] = [Role::Provider, Role::Consumer, Role::Analyst];

impl Principal {
    /// Allows or refuses `action`, saying why when refusing.
    pub fn authorize(&self, action: Action<'_>) -> Result<(), HttpError> {
        let allowed = match action {
            Action::ReadOrganisation => true,
            Action::CreateDepartment => self.has(Role::Admin),
            Action::CreateSystem { department_id } => {
                self.has(Role::Admin) || (self.has(Role::Provider) && self.department_id == department_id)
            }
            Action::ReadUsers => {
                self.has(Role::Admin) || self.has(Role::SecurityAdmin) || self.has(Role::Auditor)
            }
            Action::CreateUser => self.has(Role::Admin),
            Action::AssignRoles => self.has(Role::SecurityAdmin),
            Action::ManageAccount => self.has(Role::Admin) || self.has(Role::SecurityAdmin),
            Action::CreateApiKey { department_id, roles } => {
                self.has(Role::SecurityAdmin)
                    || (self.department_id == department_id
                        && roles.iter().all(|r| DEPARTMENT_ROLES.contains(r) && self.has(*r)))
            }
            Action::ReadApiKeys { department_id } | Action::RevokeApiKey { department_id } => {
                self.has(Role::SecurityAdmin)
                    || self.has(Role::Auditor) && matches!(action, Action::ReadApiKeys { .. })
                    || (self.department_id == department_id && DEPARTMENT_ROLES.iter().any(|r| self.has(*r)))
            }
            Action::ReadLedger => self.has(Role::Auditor) || self.has(Role::Authority),
            Action::ManageFederation => self.has(Role::Admin),
            Action::UseOtherNodes => self.has(Role::Consumer),
            Action::ReturnData => self.has(Role::Authority),
        };
        if allowed {
            Ok(())
        } else {
            Err(HttpError::forbidden(refusal(action)))
        }
    }
}

fn refusal(action: Action<'_>) -> String {
    match action {
        Action::ReadOrganisation => "reading the organisation is not allowed".into(),
        Action::CreateDepartment => "creating departments needs the admin role".into(),
        Action::CreateSystem { .. } => {
            "registering a system needs the admin role, or the provider role in that department".into()
        }
        Action::ReadUsers => "listing users needs the admin, security_admin or auditor role".into(),
        Action::CreateUser => "creating users needs the admin role".into(),
        Action::AssignRoles => "assigning roles needs the security_admin role".into(),
        Action::ManageAccount => "managing accounts needs the admin or security_admin role".into(),
        Action::CreateApiKey { .. } => "an API key may carry only department roles the caller holds in that \
                                        department, unless the caller is security_admin"
            .into(),
        Action::ReadApiKeys { .. } | Action::RevokeApiKey { .. } => {
            "API keys of another department are managed by the security_admin role".into()
        }
        Action::ReadLedger => "reading the ledger needs the auditor or authority role".into(),
        Action::ManageFederation => "managing the federation needs the admin role".into(),
        Action::UseOtherNodes => "applying for and reading other nodes' data needs the consumer role".into(),
        Action::ReturnData => "returning data to localities, and reading it, needs the authority role".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PrincipalKind;

    fn principal(dept: &str, roles: &[Role]) -> Principal {
        Principal {
            actor: "user:t".into(),
            department_id: dept.into(),
            roles: roles.to_vec(),
            kind: PrincipalKind::ApiKey { id: "k".into() },
        }
    }

    #[test]
    fn consumers_issue_keys_only_for_themselves_and_their_roles() {
        let consumer = principal("d1", &[Role::Consumer]);
        let own = Action::CreateApiKey { department_id: "d1", roles: &[Role::Consumer] };
        assert!(consumer.authorize(own).is_ok());
        let other_dept = Action::CreateApiKey { department_id: "d2", roles: &[Role::Consumer] };
        assert!(consumer.authorize(other_dept).is_err());
        let escalate = Action::CreateApiKey { department_id: "d1", roles: &[Role::Provider] };
        assert!(consumer.authorize(escalate).is_err());
        let admin_role = Action::CreateApiKey { department_id: "d1", roles: &[Role::Admin] };
        assert!(principal("d1", &[Role::Admin, Role::Consumer]).authorize(admin_role).is_err());
        assert!(principal("d9", &[Role::SecurityAdmin]).authorize(other_dept).is_ok());
    }

    #[test]
    fn three_roles_have_separate_powers() {
        let admin = principal("d", &[Role::Admin]);
        let security = principal("d", &[Role::SecurityAdmin]);
        let auditor = principal("d", &[Role::Auditor]);
        assert!(admin.authorize(Action::CreateUser).is_ok());
        assert!(admin.authorize(Action::AssignRoles).is_err());
        assert!(admin.authorize(Action::ReadLedger).is_err());
        assert!(security.authorize(Action::AssignRoles).is_ok());
        assert!(security.authorize(Action::CreateUser).is_err());
        assert!(auditor.authorize(Action::ReadLedger).is_ok());
        assert!(auditor.authorize(Action::ManageAccount).is_err());
        assert!(auditor.authorize(Action::RevokeApiKey { department_id: "x" }).is_err());
        assert!(auditor.authorize(Action::ReadApiKeys { department_id: "x" }).is_ok());
    }
}
