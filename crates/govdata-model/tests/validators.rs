//! Property tests of the national identifier validators.

use govdata_model::validate::{
    divisions, email, id_check_char, id_number, mobile_phone, region, uscc, uscc_check_char,
};
use proptest::prelude::*;

const USCC_CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn county_code() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(divisions::counties()).prop_map(|d| d.code)
}

/// A real calendar date 1900-2025 as YYYYMMDD.
fn birth_date() -> impl Strategy<Value = String> {
    (1900u32..=2025, 1u32..=12, 1u32..=31).prop_filter_map("not a real date", |(y, m, d)| {
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (d <= days).then(|| format!("{y:04}{m:02}{d:02}"))
    })
}

fn valid_id() -> impl Strategy<Value = String> {
    (county_code(), birth_date(), 0u32..1000).prop_map(|(county, date, sequence)| {
        let body = format!("{county}{date}{sequence:03}");
        format!("{body}{}", id_check_char(&body))
    })
}

fn uscc_char() -> impl Strategy<Value = u8> {
    proptest::sample::select(USCC_CHARSET)
}

/// An organisation code body (8 characters) plus its GB 11714 check character.
fn org_code() -> impl Strategy<Value = String> {
    proptest::collection::vec(uscc_char(), 8).prop_map(|body| {
        let value = |b: u8| u32::from(if b.is_ascii_digit() { b - b'0' } else { b - b'A' + 10 });
        let sum: u32 = body.iter().zip([3, 7, 9, 10, 5, 8, 4, 2]).map(|(&b, w)| value(b) * w).sum();
        let check = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10).unwrap(),
        };
        format!("{}{check}", String::from_utf8(body).unwrap())
    })
}

fn valid_uscc() -> impl Strategy<Value = String> {
    (uscc_char(), uscc_char(), county_code(), org_code()).prop_map(|(authority, kind, region, org)| {
        let body = format!("{}{}{region}{org}", char::from(authority), char::from(kind));
        format!("{body}{}", uscc_check_char(&body))
    })
}

/// The character `shift` places after `c` in `alphabet`, wrapping around.
fn shifted(alphabet: &[u8], c: u8, shift: usize) -> u8 {
    let index = alphabet.iter().position(|&a| a == c).unwrap();
    alphabet[(index + shift) % alphabet.len()]
}

/// Replace the character at `position` (ASCII string) with `replacement`.
fn replaced(code: &str, position: usize, replacement: u8) -> String {
    let mut bytes = code.as_bytes().to_vec();
    bytes[position] = replacement;
    String::from_utf8(bytes).unwrap()
}

proptest! {
    #[test]
    fn generated_ids_are_valid(id in valid_id()) {
        let v = id_number(&id);
        prop_assert!(v.valid, "{id}: {v:?}");
        prop_assert!(v.warnings.is_empty(), "{id}: {v:?}");
        prop_assert_eq!(v.normalized, Some(id.clone()));
        prop_assert!(id_number(&id.to_lowercase()).valid);
    }

    #[test]
    fn first_generation_ids_convert(
        id in valid_id().prop_filter("born in 19xx", |id| &id[6..8] == "19"),
    ) {
        let short = format!("{}{}", &id[..6], &id[8..17]);
        let v = id_number(&short);
        prop_assert!(v.valid, "{short}: {v:?}");
        prop_assert_eq!(v.normalized, Some(id));
    }

    /// MOD 11-2 catches every single-character error: each weight and each
    /// digit difference is non-zero modulo the prime 11.
    #[test]
    fn any_single_change_invalidates_an_id(
        id in valid_id(),
        position in 0usize..18,
        shift in 0usize..10,
    ) {
        // Shift the character within its alphabet, so it always differs.
        let alphabet: &[u8] = if position == 17 { b"0123456789X" } else { b"0123456789" };
        let shift = 1 + shift % (alphabet.len() - 1);
        let changed = replaced(&id, position, shifted(alphabet, id.as_bytes()[position], shift));
        let v = id_number(&changed);
        prop_assert!(!v.valid, "{changed}: {v:?}");
    }

    #[test]
    fn generated_usccs_are_valid(code in valid_uscc()) {
        let v = uscc(&code);
        prop_assert!(v.valid, "{code}: {v:?}");
        prop_assert!(v.warnings.is_empty(), "{code}: {v:?}");
        prop_assert_eq!(v.normalized, Some(code.clone()));
        prop_assert_eq!(uscc(&code.to_lowercase()).normalized, Some(code));
    }

    /// MOD 31 catches every single-character error (31 is prime and no weight
    /// is a multiple of it). A failed check is only a warning, so the changed
    /// code is either invalid for another reason (a letter in the region code)
    /// or still valid with a check warning.
    #[test]
    fn any_single_change_fails_the_uscc_check(
        code in valid_uscc(),
        position in 0usize..18,
        shift in 1usize..31,
    ) {
        let replacement = shifted(USCC_CHARSET, code.as_bytes()[position], shift);
        let changed = replaced(&code, position, replacement);
        let v = uscc(&changed);
        let check_warning =
            v.warnings.iter().any(|w| w.starts_with("check character (character 18)"));
        prop_assert!(!v.valid || check_warning, "{changed}: {v:?}");
        if v.valid {
            prop_assert_eq!(v.normalized, Some(changed));
        }
    }

    #[test]
    fn nothing_panics_on_arbitrary_input(input in any::<String>()) {
        let checked = [id_number, uscc, region, mobile_phone, email].map(|check| check(&input));
        for v in checked {
            prop_assert_eq!(v.valid, v.errors.is_empty());
            prop_assert_eq!(v.valid, v.normalized.is_some());
        }
        let _ = divisions::lookup(&input);
        let _ = divisions::children(&input);
        let _ = divisions::full_name(&input);
    }

    /// Near-misses of the accepted shapes reach the deeper checks.
    #[test]
    fn nothing_panics_on_identifier_shaped_input(
        input in "[0-9xX]{15,18}|[0-9A-Z]{18}|\\+?[0-9 -]{10,16}|[a-z.]{0,5}@[a-z.-]{0,8}",
    ) {
        let checked = [id_number, uscc, region, mobile_phone, email].map(|check| check(&input));
        for v in checked {
            prop_assert_eq!(v.valid, v.errors.is_empty());
        }
    }

    #[test]
    fn every_county_is_a_valid_region(county in county_code()) {
        let v = region(county);
        prop_assert!(v.valid);
        let name = divisions::full_name(county).unwrap();
        prop_assert!(name.ends_with(divisions::lookup(county).unwrap().name));
    }
}
