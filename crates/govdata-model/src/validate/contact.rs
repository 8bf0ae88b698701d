//! Contact details: mainland mobile numbers and e-mail addresses.

use super::Validation;

/// A mainland 11-digit mobile number, optionally with a +86, 0086 or 86
/// country code; spaces and dashes are ignored. Normalized to the 11 digits.
pub fn mobile_phone(input: &str) -> Validation {
    let compact: String = input.chars().filter(|&c| c != '-' && !c.is_whitespace()).collect();
    let number = match compact.strip_prefix("+86").or_else(|| compact.strip_prefix("0086")) {
        Some(number) => number,
        // A bare "86" is a country code only in front of a full number.
        None if compact.len() == 13 => compact.strip_prefix("86").unwrap_or(&compact),
        None => &compact,
    };
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Validation::invalid("contains characters other than digits, spaces, dashes and a +86 prefix");
    }
    if number.len() != 11 {
        return Validation::invalid(format!("must have 11 digits, got {}", number.len()));
    }
    // Mainland mobile numbers are allocated in the 13x-19x ranges.
    if !(number.starts_with('1') && (b'3'..=b'9').contains(&number.as_bytes()[1])) {
        return Validation::invalid(format!("mobile numbers start with 13 to 19, not {}", &number[..2]));
    }
    Validation::new(number.to_owned(), Vec::new(), Vec::new())
}

/// Longest address that fits an SMTP path (RFC 5321).
const MAX_ADDRESS_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

/// An e-mail address: an RFC 5322 addr-spec restricted to the forms in real
/// use (dot-atom local part, host name domain with at least one dot; no quoted
/// strings, comments or address literals). Normalized with a lower-case domain;
/// the local part keeps its case, which the receiving server may treat as
/// significant.
pub fn email(input: &str) -> Validation {
    let address = input.trim();
    if address.len() > MAX_ADDRESS_LEN {
        return Validation::invalid(format!("must be at most {MAX_ADDRESS_LEN} characters"));
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Validation::invalid("must contain '@'");
    };
    if domain.contains('@') {
        return Validation::invalid("must contain exactly one '@'");
    }
    let mut errors = Vec::new();
    check_local_part(local, &mut errors);
    check_domain(domain, &mut errors);
    Validation::new(format!("{local}@{}", domain.to_ascii_lowercase()), Vec::new(), errors)
}

fn check_local_part(local: &str, errors: &mut Vec<String>) {
    // RFC 5322 atext.
    let is_atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if local.is_empty() {
        errors.push("local part (before '@') is empty".to_owned());
    } else if local.len() > MAX_LOCAL_LEN {
        errors.push(format!("local part must be at most {MAX_LOCAL_LEN} characters"));
    } else if !local.chars().all(|c| c == '.' || is_atext(c)) {
        errors.push("local part may only contain letters, digits, dots and !#$%&'*+-/=?^_`{|}~".to_owned());
    } else if local.split('.').any(str::is_empty) {
        errors.push("local part must not start or end with a dot or have two in a row".to_owned());
    }
}

fn check_domain(domain: &str, errors: &mut Vec<String>) {
    if domain.is_empty() {
        errors.push("domain (after '@') is empty".to_owned());
        return;
    }
    if !domain.is_ascii() {
        errors.push("domain must be ASCII; write internationalized domains as xn-- labels".to_owned());
        return;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        errors.push("domain must contain a dot".to_owned());
    }
    for label in &labels {
        let well_formed = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !well_formed {
            errors.push(format!("domain label {label:?} is not a valid host name label"));
            return;
        }
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        errors.push("top-level domain must not be all digits".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_in_common_spellings() {
        for input in [
            "13800138000",
            " 138 0013 8000 ",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "008613800138000",
            "8613800138000",
            "86-138-0013-8000",
        ] {
            let v = mobile_phone(input);
            assert!(v.valid, "{input}: {v:?}");
            assert_eq!(v.normalized.as_deref(), Some("13800138000"));
        }
        assert!(mobile_phone("19912345678").valid);
    }

    #[test]
    fn mobile_number_errors() {
        let errors = |input: &str| mobile_phone(input).errors;
        assert_eq!(errors("1380013800"), ["must have 11 digits, got 10"]);
        assert_eq!(errors("+8612800138000"), ["mobile numbers start with 13 to 19, not 12"]);
        assert_eq!(errors("010-12345678"), ["mobile numbers start with 13 to 19, not 01"]);
        assert_eq!(
            errors("(010) 1234 5678"),
            ["contains characters other than digits, spaces, dashes and a +86 prefix"]
        );
        assert_eq!(
            errors("+1 650 253 0000"),
            ["contains characters other than digits, spaces, dashes and a +86 prefix"]
        );
        assert_eq!(errors(""), ["must have 11 digits, got 0"]);
    }

    #[test]
    fn email_addresses() {
        for (input, normalized) in [
            ("Zhang.San@Example.GOV.cn", "Zhang.San@example.gov.cn"),
            (" a+tag@mail.example.com ", "a+tag@mail.example.com"),
            ("o'brien@xn--fiqs8s.cn", "o'brien@xn--fiqs8s.cn"),
        ] {
            let v = email(input);
            assert!(v.valid, "{input}: {v:?}");
            assert_eq!(v.normalized.as_deref(), Some(normalized));
        }
    }

    #[test]
    fn email_errors() {
        let errors = |input: &str| email(input).errors;
        assert_eq!(errors("no-at-sign"), ["must contain '@'"]);
        assert_eq!(errors("a@b@example.com"), ["must contain exactly one '@'"]);
        assert_eq!(errors("@example.com"), ["local part (before '@') is empty"]);
        assert_eq!(errors("a@"), ["domain (after '@') is empty"]);
        assert_eq!(
            errors("a..b@example.com"),
            ["local part must not start or end with a dot or have two in a row"]
        );
        assert_eq!(
            errors("\"a b\"@example.com"),
            ["local part may only contain letters, digits, dots and !#$%&'*+-/=?^_`{|}~"]
        );
        assert_eq!(errors("a@localhost"), ["domain must contain a dot"]);
        assert_eq!(errors("a@-x.com"), ["domain label \"-x\" is not a valid host name label"]);
        assert_eq!(errors("a@example.com."), ["domain label \"\" is not a valid host name label"]);
        assert_eq!(errors("a@1.2.3.4"), ["top-level domain must not be all digits"]);
        assert_eq!(
            errors("a@政府.中国"),
            ["domain must be ASCII; write internationalized domains as xn-- labels"]
        );
        let long = format!("{}@example.com", "a".repeat(65));
        assert_eq!(errors(&long), ["local part must be at most 64 characters"]);
        let too_long = format!("a@{}.com", "b".repeat(260));
        assert_eq!(errors(&too_long), ["must be at most 254 characters"]);
    }
}
