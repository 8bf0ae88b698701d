//! GB 11643 citizen identity numbers (公民身份号码): 6-digit address code,
//! 8-digit birth date, 3-digit sequence and a MOD 11-2 check character.

use super::{divisions, Validation};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Address codes of residence permits for Hong Kong, Macao and Taiwan residents
/// (港澳台居民居住证, since 2018): real numbers in this format whose codes are
/// not in the mainland division list.
const RESIDENCE_PERMIT_CODES: [&str; 3] = ["810000", "820000", "830000"];

/// The MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits of
/// an identity number. The argument must be 17 ASCII digits; other input gives
/// a meaningless character rather than a panic in release builds.
pub fn id_check_char(first17: &str) -> char {
    debug_assert!(
        first17.len() == 17 && first17.bytes().all(|b| b.is_ascii_digit()),
        "id_check_char needs 17 ASCII digits, got {first17:?}"
    );
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w).sum();
    char::from(CHECK_CHARS[(sum % 11) as usize])
}

/// A citizen identity number, 18 characters, or 15 digits for a first-generation
/// number (converted to 18). Normalized to 18 characters with an upper-case 'X'.
pub fn id_number(input: &str) -> Validation {
    let input = input.trim();
    match input.chars().count() {
        18 => second_generation(input),
        15 => first_generation(input),
        len => Validation::invalid(format!("length must be 15 or 18, got {len}")),
    }
}

fn second_generation(input: &str) -> Validation {
    // Checked before slicing: non-ASCII input could split a character.
    if !input.is_ascii() || !input[..17].bytes().all(|b| b.is_ascii_digit()) {
        return Validation::invalid("contains non-digit characters");
    }
    let (body, check) = (&input[..17], input.as_bytes()[17].to_ascii_uppercase());
    if !(check.is_ascii_digit() || check == b'X') {
        return Validation::invalid("check character must be a digit or 'X'");
    }

    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    check_address(&body[..6], &mut warnings, &mut errors);
    check_birth_date(&body[6..14], &mut errors);
    let expected = id_check_char(body);
    if char::from(check) != expected {
        errors.push(format!("check character should be '{expected}', not '{}'", char::from(check)));
    }
    Validation::new(format!("{body}{expected}"), warnings, errors)
}

/// First-generation numbers have a 2-digit year (always 19YY) and no check
/// character; the 18-character form inserts "19" and appends the check.
fn first_generation(input: &str) -> Validation {
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        return Validation::invalid("contains non-digit characters");
    }
    let body = format!("{}19{}", &input[..6], &input[6..]);

    let mut warnings = vec!["converted from 15-digit first-generation number".to_owned()];
    let mut errors = Vec::new();
    check_address(&body[..6], &mut warnings, &mut errors);
    check_birth_date(&body[6..14], &mut errors);
    let check = id_check_char(&body);
    Validation::new(format!("{body}{check}"), warnings, errors)
}

/// An unknown province is an error; an unknown county only a warning, since
/// people keep the number issued under a since-renamed county.
fn check_address(code: &str, warnings: &mut Vec<String>, errors: &mut Vec<String>) {
    if RESIDENCE_PERMIT_CODES.contains(&code) {
        return;
    }
    if divisions::lookup(&code[..2]).is_none() {
        errors.push(format!("address code {code} is not in a known province"));
    } else if divisions::lookup(code).is_none() {
        warnings.push(format!(
            "address code {code} is not in the current division list (version {}); it may be a former code",
            divisions::VERSION
        ));
    }
}

/// `date` is 8 ASCII digits, YYYYMMDD. The current date is unknown here, so
/// only a plausible range of years is enforced.
fn check_birth_date(date: &str, errors: &mut Vec<String>) {
    let number = |digits: &str| digits.parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(&date[..4]), number(&date[4..6]), number(&date[6..]));
    if !(1900..=2100).contains(&year) {
        errors.push(format!("birth year {year} is outside 1900-2100"));
    } else if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        errors.push(format!("birth date {date} is not a real date"));
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid(input: &str, normalized: &str) -> Validation {
        let v = id_number(input);
        assert!(v.valid, "{input}: {v:?}");
        assert_eq!(v.normalized.as_deref(), Some(normalized));
        v
    }

    fn errors(input: &str) -> Vec<String> {
        let v = id_number(input);
        assert!(!v.valid && v.normalized.is_none(), "{input}: {v:?}");
        v.errors
    }

    #[test]
    fn check_char_matches_published_samples() {
        assert_eq!(id_check_char("11010519491231002"), 'X');
        // All-zero body: sum 0 -> '1'; a remainder of 2 maps to 'X'.
        assert_eq!(id_check_char("00000000000000000"), '1');
        assert_eq!(id_check_char("00000000000000001"), 'X');
    }

    #[test]
    fn accepts_the_published_sample_and_lowercase_x() {
        let v = assert_valid("11010519491231002X", "11010519491231002X");
        assert!(v.warnings.is_empty() && v.errors.is_empty());
        assert_valid(" 11010519491231002x\n", "11010519491231002X");
    }

    #[test]
    fn converts_first_generation_numbers() {
        // 110105491231002 is the 15-digit form of the sample above.
        let v = assert_valid("110105491231002", "11010519491231002X");
        assert_eq!(v.warnings, ["converted from 15-digit first-generation number"]);
        assert_eq!(errors("110105490230002"), ["birth date 19490230 is not a real date"]);
        assert_eq!(errors("11010549123100x"), ["contains non-digit characters"]);
    }

    #[test]
    fn leap_days() {
        let with_check = |body: &str| format!("{body}{}", id_check_char(body));
        for leap in ["11010520000229002", "11010519960229002"] {
            assert_valid(&with_check(leap), &with_check(leap));
        }
        assert_valid("110105960229002", &with_check("11010519960229002"));
        // Century years are leap years only when divisible by 400.
        for (body, date) in [
            ("11010519000229002", "19000229"),
            ("11010521000229002", "21000229"),
            ("11010519970229002", "19970229"),
        ] {
            assert_eq!(errors(&with_check(body)), [format!("birth date {date} is not a real date")]);
        }
        assert_eq!(errors("110105000229002"), ["birth date 19000229 is not a real date"]);
    }

    #[test]
    fn reports_what_is_wrong() {
        assert_eq!(errors("11010519491231002"), ["length must be 15 or 18, got 17"]);
        assert_eq!(errors("110105194912"), ["length must be 15 or 18, got 12"]);
        assert_eq!(errors(""), ["length must be 15 or 18, got 0"]);
        assert_eq!(errors("1101051949123100２X"), ["contains non-digit characters"]);
        assert_eq!(errors("110105194912310021"), ["check character should be 'X', not '1'"]);
        assert_eq!(errors("11010519491231002Y"), ["check character must be a digit or 'X'"]);
        let date_error = errors(&format!("11010519990230002{}", id_check_char("11010519990230002")));
        assert_eq!(date_error, ["birth date 19990230 is not a real date"]);
        let year_error = errors(&format!("11010518991231002{}", id_check_char("11010518991231002")));
        assert_eq!(year_error, ["birth year 1899 is outside 1900-2100"]);
    }

    #[test]
    fn address_code_rules() {
        let with_check = |body: &str| format!("{body}{}", id_check_char(body));
        let unknown_province = with_check("99010519491231002");
        assert_eq!(errors(&unknown_province), ["address code 990105 is not in a known province"]);

        // 110199 is not a current Beijing district: still valid, with a warning.
        let former = with_check("11019919491231002");
        let v = assert_valid(&former, &former);
        assert_eq!(
            v.warnings,
            ["address code 110199 is not in the current division list (version 2023); it may be a former code"]
        );

        let hong_kong = with_check("81000019900101123");
        let v = assert_valid(&hong_kong, &hong_kong);
        assert!(v.warnings.is_empty());
    }
}
