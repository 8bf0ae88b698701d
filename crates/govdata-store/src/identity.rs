//! Users, browser sessions and API keys. Secrets arrive here already hashed:
//! the store never sees a password or key in the clear.

use govdata_model::org::{check_role_set, ApiKey, Role, User};
use serde_json::json;
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub department_id: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub roles: Vec<Role>,
}

/// A user with the fields authentication needs.
#[derive(Debug, Clone)]
pub struct StoredUser {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: i64,
}

/// A live session and the user it belongs to.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: String,
}

pub struct NewApiKey {
    pub name: String,
    pub prefix: String,
    /// Hex SHA-256 of the whole key: keys are long random strings, so a fast
    /// hash is enough and keeps per-request checks cheap.
    pub secret_hash: String,
    pub department_id: String,
    pub roles: Vec<Role>,
    pub expires_at: Option<String>,
    /// Networks (CIDR, checked by the caller) the key may be used from.
    pub allowed_networks: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StoredApiKey {
    pub key: ApiKey,
    pub secret_hash: String,
}

fn roles_to_text(roles: &[Role]) -> String {
    let mut sorted = roles.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

fn roles_from_text(text: &str) -> Result<Vec<Role>> {
    text.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().map_err(StoreError::Corrupt)).collect()
}

fn user(row: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        department_id: row.try_get("department_id")?,
        roles: roles_from_text(&row.try_get::<String, _>("roles")?)?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        locked_until: row.try_get("locked_until")?,
        created_at: row.try_get("created_at")?,
    })
}

fn api_key(row: &sqlx::any::AnyRow) -> Result<StoredApiKey> {
    Ok(StoredApiKey {
        key: ApiKey {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            department_id: row.try_get("department_id")?,
            roles: roles_from_text(&row.try_get::<String, _>("roles")?)?,
            prefix: row.try_get("prefix")?,
            expires_at: row.try_get("expires_at")?,
            revoked_at: row.try_get("revoked_at")?,
            allowed_networks: row
                .try_get::<Option<String>, _>("allowed_networks")?
                .map(|text| {
                    serde_json::from_str(&text)
                        .map_err(|e| StoreError::Corrupt(format!("api key allowed_networks: {e}")))
                })
                .transpose()?
                .unwrap_or_default(),
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
        },
        secret_hash: row.try_get("secret_hash")?,
    })
}

const USER_COLUMNS: &str = "id, username, display_name, department_id, roles, disabled, \
                            locked_until, created_at, password_hash, failed_logins";

impl Store {
    pub async fn create_user(&self, actor: &str, new: NewUser) -> Result<User> {
        check_role_set(&new.roles)?;
        self.department(&new.department_id).await?;
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            username: new.username,
            display_name: new.display_name,
            department_id: new.department_id,
            roles: roles_from_text(&roles_to_text(&new.roles))?,
            disabled: false,
            locked_until: None,
            created_at: timestamp::now(),
        };
        let mut tx = self.begin(actor).await?;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, department_id, password_hash, roles, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.department_id)
        .bind(&new.password_hash)
        .bind(roles_to_text(&user.roles))
        .bind(&user.created_at)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::unique(e, "a user with this username"))?;
        tx.record("user.create", &user.id, json!(user));
        tx.commit().await?;
        Ok(user)
    }

    pub async fn user(&self, id: &str) -> Result<User> {
        Ok(self.stored_user_where("id", id).await?.user)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<StoredUser> {
        self.stored_user_where("username", username).await
    }

    async fn stored_user_where(&self, column: &str, value: &str) -> Result<StoredUser> {
        debug_assert!(column == "id" || column == "username");
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = $1"))
            .bind(value)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {value}")))?;
        Ok(StoredUser {
            user: user(&row)?,
            password_hash: row.try_get("password_hash")?,
            failed_logins: row.try_get("failed_logins")?,
        })
    }

    /// Users, optionally of one department.
    pub async fn users(&self, department_id: Option<&str>) -> Result<Vec<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE ($1 IS NULL OR department_id = $1) ORDER BY username"
        ))
        .bind(department_id)
        .fetch_all(self.read())
        .await?
        .iter()
        .map(user)
        .collect()
    }

    pub async fn set_user_roles(&self, actor: &str, id: &str, roles: &[Role]) -> Result<User> {
        check_role_set(roles)?;
        let before = self.user(id).await?;
        let mut tx = self.begin(actor).await?;
        sqlx::query("UPDATE users SET roles = $1 WHERE id = $2")
            .bind(roles_to_text(roles))
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.record("user.roles", id, json!({"before": before.roles, "after": roles}));
        tx.commit().await?;
        self.user(id).await
    }

    /// Disables or re-enables an account; disabling also ends its sessions.
    pub async fn set_user_disabled(&self, actor: &str, id: &str, disabled: bool) -> Result<User> {
        self.user(id).await?;
        let mut tx = self.begin(actor).await?;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(tx.conn())
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(tx.conn()).await?;
        }
        tx.record(if disabled { "user.disable" } else { "user.enable" }, id, json!({}));
        tx.commit().await?;
        self.user(id).await
    }

    /// Replaces a password hash and ends the user's sessions.
    pub async fn set_password(&self, actor: &str, id: &str, password_hash: &str) -> Result<()> {
        self.user(id).await?;
        let mut tx = self.begin(actor).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(tx.conn()).await?;
        tx.record("user.password", id, json!({}));
        tx.commit().await.map(drop)
    }

    /// Counts a failed login; at `max_failures` the account locks until `lock_until`.
    /// Returns whether the account is now locked.
    pub async fn record_login_failure(
        &self,
        username: &str,
        max_failures: i64,
        lock_until: &str,
    ) -> Result<bool> {
        let mut tx = self.begin(&format!("anonymous:{username}")).await?;
        let row = sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END \
             WHERE username = $3 RETURNING id, failed_logins, locked_until",
        )
        .bind(max_failures)
        .bind(lock_until)
        .bind(username)
        .fetch_one(tx.conn())
        .await?;
        let id: String = row.try_get("id")?;
        let failures: i64 = row.try_get("failed_logins")?;
        let locked = failures >= max_failures;
        tx.record(
            if locked { "auth.lockout" } else { "auth.login_failed" },
            &id,
            json!({"failed_logins": failures, "locked_until": row.try_get::<Option<String>, _>("locked_until")?}),
        );
        tx.commit().await?;
        Ok(locked)
    }

    /// Opens a session after a successful login and clears the failure count.
    pub async fn create_session(
        &self,
        user_id: &str,
        token_hash: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> Result<()> {
        let user = self.user(user_id).await?;
        let mut tx = self.begin(&format!("user:{}", user.username)).await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(timestamp::now())
        .bind(expires_at)
        .execute(tx.conn())
        .await?;
        tx.record("auth.login", user_id, json!({"expires_at": expires_at}));
        tx.commit().await.map(drop)
    }

    /// The live session with this token hash, if any.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT s.csrf_token AS csrf_token, s.expires_at AS expires_at, {} \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
            USER_COLUMNS.split(", ").map(|c| format!("u.{c} AS {c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(token_hash)
        .bind(timestamp::now())
        .fetch_optional(self.read())
        .await?;
        row.map(|row| {
            Ok(SessionRecord {
                user: user(&row)?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    pub async fn end_session(&self, actor: &str, user_id: &str, token_hash: &str) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(tx.conn()).await?;
        tx.record("auth.logout", user_id, json!({}));
        tx.commit().await.map(drop)
    }

    /// Clears a lockout.
    pub async fn unlock_user(&self, actor: &str, id: &str) -> Result<User> {
        self.user(id).await?;
        let mut tx = self.begin(actor).await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.record("user.unlock", id, json!({}));
        tx.commit().await?;
        self.user(id).await
    }

    pub async fn create_api_key(&self, actor: &str, new: NewApiKey) -> Result<ApiKey> {
        check_role_set(&new.roles)?;
        self.department(&new.department_id).await?;
        let key = ApiKey {
            id: uuid::Uuid::new_v4().to_string(),
            name: new.name,
            department_id: new.department_id,
            roles: roles_from_text(&roles_to_text(&new.roles))?,
            prefix: new.prefix,
            expires_at: new.expires_at,
            revoked_at: None,
            allowed_networks: new.allowed_networks,
            created_by: actor.to_owned(),
            created_at: timestamp::now(),
        };
        let mut tx = self.begin(actor).await?;
        sqlx::query(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, department_id, roles, expires_at, created_by, \
             created_at, allowed_networks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&key.id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&new.secret_hash)
        .bind(&key.department_id)
        .bind(roles_to_text(&key.roles))
        .bind(&key.expires_at)
        .bind(&key.created_by)
        .bind(&key.created_at)
        .bind(
            (!key.allowed_networks.is_empty())
                .then(|| serde_json::to_string(&key.allowed_networks))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        )
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::unique(e, "an API key with this prefix"))?;
        tx.record("api_key.create", &key.id, json!(key));
        tx.commit().await?;
        Ok(key)
    }

    pub async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<StoredApiKey>> {
        sqlx::query("SELECT * FROM api_keys WHERE prefix = $1")
            .bind(prefix)
            .fetch_optional(self.read())
            .await?
            .as_ref()
            .map(api_key)
            .transpose()
    }

    pub async fn api_key(&self, id: &str) -> Result<ApiKey> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("API key {id}")))?;
        Ok(api_key(&row)?.key)
    }

    /// API keys, optionally of one department.
    pub async fn api_keys(&self, department_id: Option<&str>) -> Result<Vec<ApiKey>> {
        sqlx::query("SELECT * FROM api_keys WHERE ($1 IS NULL OR department_id = $1) ORDER BY created_at")
            .bind(department_id)
            .fetch_all(self.read())
            .await?
            .iter()
            .map(|row| api_key(row).map(|k| k.key))
            .collect()
    }

    /// Revokes a key; it stops working with the next request.
    pub async fn revoke_api_key(&self, actor: &str, id: &str) -> Result<ApiKey> {
        let key = self.api_key(id).await?;
        if key.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!("API key {id} is already revoked")));
        }
        let mut tx = self.begin(actor).await?;
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2")
            .bind(timestamp::now())
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.record("api_key.revoke", id, json!({"prefix": key.prefix}));
        tx.commit().await?;
        self.api_key(id).await
    }
}
