//! Departments and the information systems they run.

use govdata_model::org::{Department, InfoSystem};
use serde_json::json;
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

pub struct NewDepartment {
    pub name: String,
    pub uscc: String,
    pub region: String,
}

pub struct NewSystem {
    pub department_id: String,
    pub name: String,
    pub description: String,
}

fn department(row: &sqlx::any::AnyRow) -> Result<Department> {
    Ok(Department {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        uscc: row.try_get("uscc")?,
        region: row.try_get("region")?,
        created_at: row.try_get("created_at")?,
    })
}

fn system(row: &sqlx::any::AnyRow) -> Result<InfoSystem> {
    Ok(InfoSystem {
        id: row.try_get("id")?,
        department_id: row.try_get("department_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    pub async fn create_department(&self, actor: &str, new: NewDepartment) -> Result<Department> {
        self.insert_department(actor, new, None).await
    }

    /// The department of another node that an application was routed here
    /// from, registered on first sight (`home`: its node and its id there).
    /// It consumes grants here but is never listed among this node's
    /// departments.
    pub async fn remote_department(
        &self,
        actor: &str,
        new: NewDepartment,
        home: (&str, &str),
    ) -> Result<Department> {
        let known = sqlx::query("SELECT * FROM departments WHERE home_node = $1 AND home_department_id = $2")
            .bind(home.0)
            .bind(home.1)
            .fetch_optional(self.read())
            .await?;
        match known {
            Some(row) => department(&row),
            None => self.insert_department(actor, new, Some(home)).await,
        }
    }

    async fn insert_department(
        &self,
        actor: &str,
        new: NewDepartment,
        home: Option<(&str, &str)>,
    ) -> Result<Department> {
        let dept = Department {
            id: uuid::Uuid::new_v4().to_string(),
            name: new.name,
            uscc: new.uscc,
            region: new.region,
            created_at: timestamp::now(),
        };
        let mut tx = self.begin(actor).await?;
        sqlx::query(
            "INSERT INTO departments (id, name, uscc, region, created_at, home_node, home_department_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&dept.id)
        .bind(&dept.name)
        .bind(&dept.uscc)
        .bind(&dept.region)
        .bind(&dept.created_at)
        .bind(home.map(|h| h.0))
        .bind(home.map(|h| h.1))
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::unique(e, "a department with this name or unified social credit code"))?;
        match home {
            None => tx.record("department.create", &dept.id, json!(dept)),
            Some((node, id)) => tx.record(
                "department.remote_registered",
                &dept.id,
                json!({"department": dept, "home_node": node, "home_department_id": id}),
            ),
        }
        tx.commit().await?;
        Ok(dept)
    }

    pub async fn department(&self, id: &str) -> Result<Department> {
        let row = sqlx::query("SELECT * FROM departments WHERE id = $1")
            .bind(id)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("department {id}")))?;
        department(&row)
    }

    pub async fn departments(&self) -> Result<Vec<Department>> {
        sqlx::query("SELECT * FROM departments WHERE home_node IS NULL ORDER BY region, name")
            .fetch_all(self.read())
            .await?
            .iter()
            .map(department)
            .collect()
    }

    pub async fn create_system(&self, actor: &str, new: NewSystem) -> Result<InfoSystem> {
        self.department(&new.department_id).await?;
        let sys = InfoSystem {
            id: uuid::Uuid::new_v4().to_string(),
            department_id: new.department_id,
            name: new.name,
            description: new.description,
            created_at: timestamp::now(),
        };
        let mut tx = self.begin(actor).await?;
        sqlx::query(
            "INSERT INTO info_systems (id, department_id, name, description, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&sys.id)
        .bind(&sys.department_id)
        .bind(&sys.name)
        .bind(&sys.description)
        .bind(&sys.created_at)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::unique(e, "a system with this name in the department"))?;
        tx.record("system.create", &sys.id, json!(sys));
        tx.commit().await?;
        Ok(sys)
    }

    /// Systems, optionally of one department.
    pub async fn systems(&self, department_id: Option<&str>) -> Result<Vec<InfoSystem>> {
        sqlx::query(
            "SELECT * FROM info_systems WHERE ($1 IS NULL OR department_id = $1) \
             ORDER BY department_id, name",
        )
        .bind(department_id)
        .fetch_all(self.read())
        .await?
        .iter()
        .map(system)
        .collect()
    }
}
