//! The organisation a node serves: its level in the "1+32+N" hierarchy,
//! departments, their information systems (政务信息系统), users and roles.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a node sits in the hierarchy of platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    National,
    Provincial,
    City,
    County,
    Department,
}

/// A role a user or API key holds. The first three are the administrative
/// roles of three-role separation (三员分立, GB/T 39477): no user holds two.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System administrator: node, departments, systems, user accounts.
    Admin,
    /// Security administrator: role assignment, API keys, unlocking accounts.
    SecurityAdmin,
    /// Security auditor: reads the ledger and audit records.
    Auditor,
    /// The data authority (数据主管部门): reviews catalogs, arbitrates.
    Authority,
    /// A provider department's data officer.
    Provider,
    /// A consumer department's data officer or application.
    Consumer,
    /// Computes in workspaces and the sandbox.
    Analyst,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::SecurityAdmin,
        Role::Auditor,
        Role::Authority,
        Role::Provider,
        Role::Consumer,
        Role::Analyst,
    ];

    pub fn is_administrative(self) -> bool {
        matches!(self, Role::Admin | Role::SecurityAdmin | Role::Auditor)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SecurityAdmin => "security_admin",
            Role::Auditor => "auditor",
            Role::Authority => "authority",
            Role::Provider => "provider",
            Role::Consumer => "consumer",
            Role::Analyst => "analyst",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown role '{s}'"))
    }
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::National => "national",
            Level::Provincial => "provincial",
            Level::City => "city",
            Level::County => "county",
            Level::Department => "department",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Level::National, Level::Provincial, Level::City, Level::County, Level::Department]
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown level '{s}'"))
    }
}

/// Checks a set of roles for three-role separation: at most one administrative
/// role, and at least one role in all.
pub fn check_role_set(roles: &[Role]) -> Result<(), crate::FieldError> {
    if roles.is_empty() {
        return Err(crate::FieldError::new("roles", "at least one role is required"));
    }
    let admin_class: Vec<_> = roles.iter().filter(|r| r.is_administrative()).collect();
    if admin_class.len() > 1 {
        return Err(crate::FieldError::new(
            "roles",
            format!(
                "three-role separation: {} and {} may not be held by one user",
                admin_class[0], admin_class[1]
            ),
        ));
    }
    Ok(())
}

/// The identity of this node, as published at `GET /api/v1/node`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct NodeInfo {
    pub id: String,
    pub name: String,
    pub level: Level,
    /// GB/T 2260 region code of the area the node serves.
    pub region: String,
    /// Base URL of the parent node; absent at the national hub.
    pub parent: Option<String>,
    /// Base64 of the raw 32-byte Ed25519 public key.
    pub public_key: String,
}

/// A government department registered at this node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Department {
    pub id: String,
    pub name: String,
    /// Unified social credit code (GB 32100): the provider code in catalogs.
    pub uscc: String,
    /// GB/T 2260 region code.
    pub region: String,
    pub created_at: String,
}

/// An information system a department runs (政务信息系统): the producer of data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct InfoSystem {
    pub id: String,
    pub department_id: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub department_id: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    /// Set while the account is locked after failed logins (RFC 3339).
    pub locked_until: Option<String>,
    pub created_at: String,
}

/// An application credential. The secret is shown once at creation and only
/// its hash is stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub department_id: String,
    pub roles: Vec<Role>,
    /// The non-secret prefix shown in listings, e.g. `gdk_3f9a1c2b`.
    pub prefix: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Networks (CIDR) the key may be used from; empty admits any address.
    pub allowed_networks: Vec<String>,
    pub created_by: String,
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_administrative_roles_are_refused() {
        let err = check_role_set(&[Role::Admin, Role::Auditor]).unwrap_err();
        assert_eq!(err.field, "roles");
        assert!(check_role_set(&[Role::SecurityAdmin, Role::Provider, Role::Consumer]).is_ok());
        assert!(check_role_set(&[]).is_err());
    }

    #[test]
    fn roles_round_trip_through_strings() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
