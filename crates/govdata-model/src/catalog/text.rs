//! Small text tools shared by the duplicate check, item matching and the
//! sensitivity rules: one normalization, two similarity measures.

use std::collections::BTreeSet;

/// The form names are compared in: full-width ASCII folded to half-width,
/// lower case, and only letters and digits kept (CJK characters count as
/// letters), so "公民身份号码（18位）", "ID_Number" and "id number" compare
/// as "公民身份号码18位", "idnumber", "idnumber".
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            // Full-width forms FF01-FF5E mirror ASCII 21-7E.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// 1 − edit distance / longer length; 1.0 for two empty strings.
pub fn edit_similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 1.0;
    }
    1.0 - edit_distance(&a, &b) as f64 / longer as f64
}

fn bigrams(s: &str) -> BTreeSet<(char, char)> {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Jaccard similarity of the character bigram sets; strings shorter than two
/// characters compare equal only when identical.
pub fn bigram_jaccard(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let shared = x.intersection(&y).count();
    shared as f64 / (x.len() + y.len() - shared) as f64
}

/// Generic words at the end of resource names that say nothing about which
/// resource it is: "企业登记信息", "企业登记信息表" and "企业登记数据" name the
/// same thing. Longest first.
const GENERIC_SUFFIXES: &[&str] = &["信息表", "数据表", "数据集", "信息", "数据", "清单", "目录", "表", "库"];

/// A normalized name without its generic suffixes (never stripped to nothing).
fn name_core(name: &str) -> String {
    let mut core = normalize(name);
    while let Some(stripped) =
        GENERIC_SUFFIXES.iter().find_map(|s| core.strip_suffix(s).filter(|rest| !rest.is_empty()))
    {
        core = stripped.to_owned();
    }
    core
}

/// How alike two resource names are: the better of the two measures, on
/// normalized names without generic suffixes. Edit similarity catches a
/// changed character in a short name; bigram Jaccard catches reordered parts
/// of a long one.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (name_core(a), name_core(b));
    edit_similarity(&a, &b).max(bigram_jaccard(&a, &b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_width_case_and_punctuation() {
        assert_eq!(normalize("公民身份号码（18位）"), "公民身份号码18位");
        assert_eq!(normalize("ID_Number"), "idnumber");
        assert_eq!(normalize("ＩＤ　Ｎｏ．"), "idno");
    }

    #[test]
    fn similarity_measures() {
        assert_eq!(edit_similarity("", ""), 1.0);
        assert_eq!(edit_similarity("abcd", "abce"), 0.75);
        assert_eq!(edit_distance(&['k', 'i', 't'], &['s', 'i', 't', 't', 'i', 'n', 'g']), 5);
        assert_eq!(bigram_jaccard("企业登记", "企业登记"), 1.0);
        assert_eq!(bigram_jaccard("a", "b"), 0.0);
        assert!(name_similarity("企业登记信息", "企业登记信息。") > 0.99);
        assert!(name_similarity("企业登记信息", "个人社保缴费") < 0.2);
        assert_eq!(name_core("企业登记基本信息表"), "企业登记基本");
        assert_eq!(name_core("数据目录"), "数据");
        assert_eq!(name_similarity("企业登记基本信息", "企业登记基本数据表"), 1.0);
        assert!(name_similarity("企业登记基本信息", "企业登记变更信息") < 0.7);
    }
}
