//! GB 32100 unified social credit codes (统一社会信用代码): registration
//! authority (1 character), organisation type (1), region code (6), GB 11714
//! organisation code (9, with its own check) and a MOD 31 check character.

use super::{divisions, Validation};

/// The code's alphabet: digits and upper-case letters without I, O, S, V, Z.
/// A character's position is its value in the MOD 31 check.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The MOD 31 check character for the first 17 characters of a USCC (upper
/// or lower case). Characters outside the alphabet break the contract: they
/// give a meaningless character rather than a panic in release builds.
pub fn uscc_check_char(first17: &str) -> char {
    debug_assert!(
        first17.len() == 17 && first17.bytes().all(|b| value(b.to_ascii_uppercase()).is_some()),
        "uscc_check_char needs 17 USCC characters, got {first17:?}"
    );
    let sum: u32 =
        first17.bytes().zip(WEIGHTS).map(|(b, w)| value(b.to_ascii_uppercase()).unwrap_or(0) * w).sum();
    char::from(CHARSET[((31 - sum % 31) % 31) as usize])
}

/// GB 11714 check character (MOD 11) of an organisation code's 8-character
/// body (digits and upper-case letters); letters count from A = 10.
pub fn org_code_check_char(body: &str) -> char {
    debug_assert!(
        body.len() == 8 && body.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
        "org_code_check_char needs 8 digits or upper-case letters, got {body:?}"
    );
    let body = body.as_bytes();
    let value = |b: u8| u32::from(if b.is_ascii_digit() { b - b'0' } else { b - b'A' + 10 });
    let sum: u32 = body.iter().zip(ORG_CODE_WEIGHTS).map(|(&b, w)| value(b) * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from(b'0' + n as u8),
    }
}

/// A unified social credit code, normalized to 18 upper-case characters.
/// Failed check characters are warnings only: codes that fail them were
/// issued and are in use.
pub fn uscc(input: &str) -> Validation {
    let code = input.trim().to_ascii_uppercase();
    let mut errors = Vec::new();
    let len = code.chars().count();
    if len != 18 {
        errors.push(format!("length must be 18, got {len}"));
    }
    let stray = code.chars().enumerate().find(|&(_, c)| !c.is_ascii() || value(c as u8).is_none());
    if let Some((position, c)) = stray {
        errors.push(format!("character {} {c:?} is not allowed in a USCC", position + 1));
    }
    if !errors.is_empty() {
        return Validation::new(code, Vec::new(), errors);
    }

    // From here the code is 18 ASCII characters of the alphabet.
    let bytes = code.as_bytes();
    let mut warnings = Vec::new();
    let region = &code[2..8];
    if !region.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(format!("region code {region} (characters 3-8) must be digits"));
    } else if region != divisions::NATIONAL && divisions::lookup(region).is_none() {
        warnings.push(format!(
            "region code {region} is not in the current division list (version {})",
            divisions::VERSION
        ));
    }
    let org_check = org_code_check_char(&code[8..16]);
    if char::from(bytes[16]) != org_check {
        warnings.push(format!(
            "organisation code check character (character 17) should be '{org_check}', not '{}'",
            char::from(bytes[16])
        ));
    }
    let check = uscc_check_char(&code[..17]);
    if char::from(bytes[17]) != check {
        warnings.push(format!(
            "check character (character 18) should be '{check}', not '{}'",
            char::from(bytes[17])
        ));
    }
    Validation::new(code, warnings, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_chars() {
        assert_eq!(uscc_check_char("91350100M000100Y4"), '3');
        assert_eq!(uscc_check_char("91350100m000100y4"), '3');
        assert_eq!(org_code_check_char("M000100Y"), '4');
        // Sums that are multiples of 31 give '0', not an out-of-range 31.
        assert_eq!(uscc_check_char("00000000000000000"), '0');
    }

    #[test]
    fn accepts_well_formed_codes() {
        for code in ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"] {
            let v = uscc(code);
            assert!(v.valid && v.warnings.is_empty(), "{code}: {v:?}");
            assert_eq!(v.normalized.as_deref(), Some(code));
        }
        let v = uscc(" 91350100m000100y43 ");
        assert_eq!(v.normalized.as_deref(), Some("91350100M000100Y43"));
    }

    #[test]
    fn failed_checks_are_warnings() {
        let v = uscc("91350100M000100Y44");
        assert!(v.valid, "{v:?}");
        assert_eq!(v.normalized.as_deref(), Some("91350100M000100Y44"));
        assert_eq!(v.warnings, ["check character (character 18) should be '3', not '4'"]);

        let body = "91350100M000100Y5";
        let v = uscc(&format!("{body}{}", uscc_check_char(body)));
        assert!(v.valid, "{v:?}");
        assert_eq!(v.warnings, ["organisation code check character (character 17) should be '4', not '5'"]);
    }

    #[test]
    fn region_codes() {
        let with_check = |body: &str| format!("{body}{}", uscc_check_char(body));
        let v = uscc(&with_check("91999999M000100Y4"));
        assert!(v.valid);
        assert_eq!(v.warnings, ["region code 999999 is not in the current division list (version 2023)"]);
        assert!(uscc(&with_check("11100000M000100Y4")).warnings.is_empty());
        let v = uscc(&with_check("9135A100M000100Y4"));
        assert_eq!(v.errors, ["region code 35A100 (characters 3-8) must be digits"]);
    }

    #[test]
    fn rejects_bad_length_and_characters() {
        assert_eq!(uscc("91350100M000100Y4").errors, ["length must be 18, got 17"]);
        assert_eq!(uscc("").errors, ["length must be 18, got 0"]);
        assert_eq!(uscc("91350100M000I00Y43").errors, ["character 13 'I' is not allowed in a USCC"]);
        assert_eq!(uscc("91350100M000100Y4３").errors, ["character 18 '３' is not allowed in a USCC"]);
        assert_eq!(
            uscc("9135O100M000100Y4").errors,
            ["length must be 18, got 17", "character 5 'O' is not allowed in a USCC"]
        );
    }
}
