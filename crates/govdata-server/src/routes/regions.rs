//! The GB/T 2260 administrative divisions embedded in the binary: for forms
//! that pick a region, and for showing a code's full name.

use axum::Json;
use govdata_model::validate::divisions::{self, DivisionLevel};
use govdata_model::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::error::{ApiResult, HttpError};
use crate::extract::{Path, Query};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Region {
    pub code: String,
    pub name: String,
    /// The name with its province and city, e.g. 广东省深圳市南山区.
    pub full_name: String,
    pub level: DivisionLevel,
    pub parent: Option<String>,
}

fn region(division: &divisions::Division) -> Region {
    Region {
        code: division.code.to_owned(),
        name: division.name.to_owned(),
        full_name: divisions::full_name(division.code).unwrap_or_else(|| division.name.to_owned()),
        level: division.level,
        parent: division.parent.map(str::to_owned),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegionFilter {
    /// List the divisions directly under this code; omitted: the provinces.
    pub parent: Option<String>,
}

/// Divisions directly under a region (default: the provinces).
#[utoipa::path(get, path = "/api/v1/regions", tag = "validate", params(RegionFilter),
    responses((status = 200, body = Vec<Region>), (status = 404, body = HttpError)))]
pub async fn list(Query(filter): Query<RegionFilter>) -> ApiResult<Json<Vec<Region>>> {
    let children = match filter.parent.as_deref() {
        None => divisions::provinces(),
        Some(code) => {
            let parent = divisions::lookup(code).ok_or_else(|| unknown(code))?;
            divisions::children(parent.code)
        }
    };
    Ok(Json(children.into_iter().map(region).collect()))
}

/// One division by its 2-, 4- or 6-digit code.
#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "validate",
    params(("code" = String, Path, description = "GB/T 2260 code")),
    responses((status = 200, body = Region), (status = 404, body = HttpError)))]
pub async fn get(Path(code): Path<String>) -> ApiResult<Json<Region>> {
    divisions::lookup(&code).map(|d| Json(region(d))).ok_or_else(|| unknown(&code))
}

fn unknown(code: &str) -> HttpError {
    HttpError::new(
        ErrorCode::NotFound,
        format!("region {code} is not in the division list (version {})", divisions::VERSION),
    )
}
