//! Validators for national identifiers and contact details. Each returns a
//! [`Validation`]: errors make a value invalid, warnings flag values that are
//! acceptable but worth a second look (an outdated region code, a failed
//! secondary check).

mod citizen_id;
mod contact;
mod credit_code;
pub mod divisions;

pub use citizen_id::{id_check_char, id_number};
pub use contact::{email, mobile_phone};
pub use credit_code::{org_code_check_char, uscc, uscc_check_char};

/// Result of checking one value against a national rule. Serialized as the body of
/// `POST /api/v1/validate/{id-number,uscc,region}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Validation {
    /// True when there are no errors; warnings do not make a value invalid.
    pub valid: bool,
    /// The canonical form of the value (e.g. upper case, 18 digits); present
    /// exactly when the value is valid.
    pub normalized: Option<String>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

impl Validation {
    fn new(normalized: String, warnings: Vec<String>, errors: Vec<String>) -> Self {
        let valid = errors.is_empty();
        Validation { valid, normalized: valid.then_some(normalized), warnings, errors }
    }

    fn invalid(error: impl Into<String>) -> Self {
        Validation { valid: false, normalized: None, warnings: Vec::new(), errors: vec![error.into()] }
    }
}

/// A GB/T 2260 region code, given in its 2-, 4- or 6-digit form; normalized
/// to 6 digits. Use [`divisions::full_name`] for its name.
pub fn region(input: &str) -> Validation {
    let Some(code) = divisions::normalize(input.trim()) else {
        return Validation::invalid("region code must be 2, 4 or 6 digits");
    };
    if divisions::lookup(&code).is_none() {
        return Validation::invalid(format!(
            "region code {code} is not in the division list (version {})",
            divisions::VERSION
        ));
    }
    Validation::new(code, Vec::new(), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_accepts_known_codes_in_any_form() {
        for (input, normalized) in [("440305", "440305"), ("4403", "440300"), (" 44 ", "440000")] {
            let v = region(input);
            assert!(v.valid, "{input}: {v:?}");
            assert_eq!(v.normalized.as_deref(), Some(normalized));
            assert!(v.warnings.is_empty() && v.errors.is_empty());
        }
    }

    #[test]
    fn region_rejects_unknown_and_malformed_codes() {
        let v = region("999999");
        assert!(!v.valid);
        assert_eq!(v.normalized, None);
        assert_eq!(v.errors, ["region code 999999 is not in the division list (version 2023)"]);
        for bad in ["", "4", "44030", "4403055", "44a305", "４４"] {
            assert_eq!(region(bad).errors, ["region code must be 2, 4 or 6 digits"], "{bad}");
        }
    }

    #[test]
    fn serializes_as_the_api_body() {
        let json = serde_json::to_value(region("4403")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"valid": true, "normalized": "440300", "warnings": [], "errors": []})
        );
    }
}
