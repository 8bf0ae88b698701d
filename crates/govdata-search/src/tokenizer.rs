//! Chinese segmentation for the index: a tantivy [`Tokenizer`] over jieba-rs.
//!
//! Documents are cut in jieba's *search mode* ([`jieba_rs::Jieba::cut_for_search`]):
//! every word of the normal cut, plus the 2- and 3-character dictionary words
//! inside it, so `人口基础信息库` is findable as `人口`, `基础`, `信息`, and
//! `营业执照号` as `营业执照`, `营业` and `执照`. Tokens that are only
//! punctuation or whitespace are dropped, Latin letters are lower-cased, and
//! positions are ordinals (tantivy's convention).
//!
//! Why not the `tantivy-jieba` crate: it matches tantivy 0.27 (tokenizer API
//! 0.7), but it keeps punctuation and whitespace as tokens, does not
//! lower-case, and uses character offsets as positions; the adapter is 60
//! lines, so owning it costs less than filtering around it.
//!
//! Queries are cut differently (see [`query_words`]): the *default* cut gives
//! the words a person typed, and each word is then expanded with its
//! search-mode parts, so that a query word matches a document that holds the
//! word itself or all of its parts.

use std::sync::OnceLock;

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the analyzer is registered under in the index. Part of the
/// schema: changing what it does means bumping [`crate::SCHEMA_VERSION`].
pub(crate) const TOKENIZER_NAME: &str = "govdata_jieba";

/// One shared dictionary: loading it takes tens of milliseconds and a few MB.
pub(crate) fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Whether a token carries something searchable: at least one letter or
/// digit (any script). Punctuation, symbols and whitespace do not.
fn is_searchable(word: &str) -> bool {
    word.chars().any(char::is_alphanumeric)
}

fn normalize(word: &str) -> String {
    if word.is_ascii() {
        word.to_ascii_lowercase()
    } else {
        word.to_lowercase()
    }
}

/// The index-side tokenizer (jieba search mode, see the module docs).
#[derive(Clone, Default)]
pub(crate) struct JiebaTokenizer;

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let mut tokens = Vec::new();
        for (position, t) in
            jieba().cut_for_search(text, true).into_iter().filter(|t| is_searchable(t.word)).enumerate()
        {
            tokens.push(Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position,
                text: normalize(t.word),
                position_length: 1,
            });
        }
        JiebaTokenStream { tokens, next: 0 }
    }
}

pub(crate) struct JiebaTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// Function words dropped from queries (never from documents): requiring
/// them would only lose matches. A query made only of them keeps them.
const QUERY_STOP_WORDS: &[&str] =
    &["的", "和", "与", "及", "或", "了", "在", "是", "等", "之", "对", "把", "被", "有关", "相关"];

/// Common abbreviations in government data and what they stand for. A query
/// word found here also matches its expansion (and the other way round), so
/// `社保` finds `社会保险参保信息`. Small on purpose: only abbreviations
/// that are unambiguous in a data catalog.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("社保", "社会保险"),
    ("医保", "医疗保险"),
    ("公积金", "住房公积金"),
    ("身份证", "居民身份证"),
    ("低保", "最低生活保障"),
    ("残疾证", "残疾人证"),
];

/// One word of a query and the terms that may stand for it. A document
/// matches the word when it holds any one of the `alternatives` as a whole
/// (each alternative is a list of terms that must all be present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryWord {
    /// The word as typed (normalized), for logs and tests.
    pub word: String,
    /// Each alternative: terms that must all be in the document. The first
    /// alternative is the word itself.
    pub alternatives: Vec<Vec<String>>,
}

/// Index-side terms of `text`, in order, deduplicated.
#[cfg(test)]
pub(crate) fn index_terms(text: &str) -> Vec<String> {
    let mut tokenizer = JiebaTokenizer;
    let mut stream = tokenizer.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        if !terms.contains(&token.text) {
            terms.push(token.text.clone());
        }
    }
    terms
}

/// Splits a query into words: jieba's default cut, searchable tokens only,
/// stop words dropped (unless nothing else is left), duplicates removed.
/// Each word's alternatives: the word as one term; its search-mode parts
/// (all required), when jieba splits it; and the same for its abbreviation
/// or expansion.
pub(crate) fn query_words(q: &str) -> Vec<QueryWord> {
    let mut words: Vec<String> = Vec::new();
    for t in jieba().cut(q, true) {
        if !is_searchable(t.word) {
            continue;
        }
        let w = normalize(t.word);
        if !words.contains(&w) {
            words.push(w);
        }
    }
    if words.iter().any(|w| !QUERY_STOP_WORDS.contains(&w.as_str())) {
        words.retain(|w| !QUERY_STOP_WORDS.contains(&w.as_str()));
    }
    words
        .into_iter()
        .map(|word| {
            let mut alternatives: Vec<Vec<String>> = Vec::new();
            let mut push = |alt: Vec<String>| {
                if !alt.is_empty() && !alternatives.contains(&alt) {
                    alternatives.push(alt);
                }
            };
            let mut forms = vec![word.clone()];
            for (short, long) in ABBREVIATIONS {
                if word == *short && word != *long {
                    forms.push((*long).to_owned());
                } else if word == *long && word != *short {
                    forms.push((*short).to_owned());
                }
            }
            for form in &forms {
                push(vec![form.clone()]);
                push(covering_parts(form));
            }
            QueryWord { word, alternatives }
        })
        .collect()
}

/// Smaller words that together spell `word`, for a document segmented
/// differently: jieba's default cut of the word alone when it splits it,
/// else its dictionary 2- and 3-grams if they cover every character (so
/// `营业执照` → `营业` + `执照`, but `许可证` does not become just
/// `许可`). Empty when there is no such cover.
fn covering_parts(word: &str) -> Vec<String> {
    let cut: Vec<_> = jieba().cut(word, false).into_iter().filter(|t| is_searchable(t.word)).collect();
    if cut.len() > 1 {
        return cut.iter().map(|t| normalize(t.word)).collect();
    }
    let grams: Vec<_> = jieba()
        .cut_for_search(word, false)
        .into_iter()
        .filter(|t| t.word != word && is_searchable(t.word))
        .collect();
    let mut covered = vec![false; word.len()];
    for g in &grams {
        covered[g.byte_start..g.byte_end].iter_mut().for_each(|c| *c = true);
    }
    if grams.is_empty() || covered.contains(&false) {
        return Vec::new();
    }
    let mut parts: Vec<String> = Vec::new();
    for g in grams {
        let p = normalize(g.word);
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut tokenizer = JiebaTokenizer;
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        out
    }

    #[test]
    fn drops_punctuation_lowercases_and_numbers_positions() {
        let toks = tokens("人口基础信息（USCC）、 营业执照");
        let texts: Vec<&str> = toks.iter().map(|t| t.0.as_str()).collect();
        assert!(texts.contains(&"人口"), "{texts:?}");
        assert!(texts.contains(&"uscc"), "{texts:?}");
        assert!(texts.contains(&"营业执照"), "{texts:?}");
        assert!(texts.iter().all(|t| is_searchable(t)), "{texts:?}");
        for (i, t) in toks.iter().enumerate() {
            assert_eq!(t.3, i);
        }
        let text = "人口基础信息（USCC）、 营业执照";
        for (word, from, to, _) in &toks {
            assert_eq!(normalize(&text[*from..*to]), *word);
        }
    }

    #[test]
    fn search_mode_indexes_parts() {
        let terms = index_terms("人口基础信息");
        assert!(terms.contains(&"人口".to_owned()), "{terms:?}");
        let terms = index_terms("营业执照号");
        assert!(terms.contains(&"营业执照".to_owned()), "{terms:?}");
    }

    #[test]
    fn query_word_parts_must_cover_the_word() {
        let w = &query_words("营业执照")[0];
        assert_eq!(w.alternatives, [vec!["营业执照".to_owned()], vec!["营业".to_owned(), "执照".to_owned()]]);
        // 许可 alone would match every 行政许可.
        assert_eq!(query_words("许可证")[0].alternatives, [vec!["许可证".to_owned()]]);
    }

    #[test]
    fn query_words_drop_stop_words_and_expand() {
        let words = query_words("社保 的 缴费");
        let typed: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(typed, ["社保", "缴费"]);
        assert!(words[0].alternatives.contains(&vec!["社会保险".to_owned()]));
        assert_eq!(query_words("的")[0].word, "的");
        assert!(query_words("，。 ").is_empty());
    }
}
