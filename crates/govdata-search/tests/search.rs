//! Search behaviour over a fixed Chinese catalog: relevance, segmentation,
//! facets, visibility, sorting, paging and highlights.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use govdata_model::{ApiError, ErrorCode};
use govdata_search::{
    Facet, Filters, SearchDoc, SearchError, SearchIndex, SearchQuery, SearchResults, Sort, Viewer,
};

fn index_with_corpus() -> (SearchIndex, Vec<SearchDoc>) {
    let index = SearchIndex::in_memory().unwrap();
    let docs = corpus();
    index.upsert(&docs).unwrap();
    (index, docs)
}

fn search(index: &SearchIndex, q: &str, viewer: &Viewer) -> SearchResults {
    index.search(&SearchQuery { size: 100, ..SearchQuery::text(q) }, viewer).unwrap()
}

fn names(results: &SearchResults) -> Vec<&str> {
    results.items.iter().map(|h| h.name.as_str()).collect()
}

fn government() -> Viewer {
    Viewer::department("d-other")
}

#[test]
fn corpus_is_indexed_except_unsearchable_versions() {
    let (index, docs) = index_with_corpus();
    let searchable = docs.iter().filter(|d| d.visibility().is_some()).count();
    assert_eq!(docs.len() - searchable, 3);
    assert_eq!(index.doc_count().unwrap(), searchable as u64);
}

#[test]
fn expected_top_hits() {
    let (index, _) = index_with_corpus();
    let viewer = government();
    // (query, expected first hits in any order, names that must also be found)
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("人口", &["人口基础信息"], &["流动人口居住登记信息", "户籍人口统计数据"]),
        ("人口基础信息", &["人口基础信息"], &[]),
        (
            "营业执照",
            &["营业执照信息"],
            &["个体工商户登记信息", "食品经营许可证信息", "纳税人信息", "企业综合信息（一企一档）"],
        ),
        ("社保", &["社会保险参保信息", "社会保险待遇发放信息"], &["自然人综合信息（一人一档）"]),
        ("社会保险", &["社会保险参保信息", "社会保险待遇发放信息"], &["自然人综合信息（一人一档）"]),
        ("不动产", &["不动产登记信息", "不动产抵押登记信息"], &[]),
        ("出生医学证明", &["出生医学证明信息"], &[]),
        ("排污许可证", &["排污许可证信息"], &[]),
        ("婚姻登记", &["婚姻登记信息"], &[]),
        ("学籍", &["学籍信息"], &[]),
        ("纳税人", &["纳税人信息"], &[]),
        ("公积金", &["住房公积金缴存信息"], &[]),
        ("法人单位", &["法人单位基本信息"], &[]),
        ("统一社会信用代码", &[], &["法人单位基本信息", "营业执照信息", "排污许可证信息", "行政处罚信息"]),
        ("市场监督管理局 年报", &["企业年度报告信息"], &[]),
        ("一人一档", &["自然人综合信息（一人一档）"], &[]),
        ("最低生活保障", &["最低生活保障对象信息"], &[]),
    ];
    for (q, first, also) in cases {
        let results = search(&index, q, &viewer);
        let found = names(&results);
        let top: BTreeSet<&str> = found.iter().take(first.len()).copied().collect();
        let want: BTreeSet<&str> = first.iter().copied().collect();
        assert_eq!(top, want, "top hits for {q:?}: {found:?}");
        for name in *also {
            assert!(found.contains(name), "{q:?} should find {name}: {found:?}");
        }
        assert_eq!(results.total as usize, found.len(), "{q:?}");
        // Scores never increase down the list.
        assert!(results.items.windows(2).all(|w| w[0].score >= w[1].score), "{q:?}");
    }
}

#[test]
fn item_names_are_searched() {
    let (index, docs) = index_with_corpus();
    let results = search(&index, "营业执照", &government());
    // Every visible entry with an item mentioning 营业执照 is found.
    let viewer = government();
    let want: BTreeSet<&str> = docs
        .iter()
        .filter(|d| viewer.can_see(d))
        .filter(|d| {
            d.entry.metadata.items.iter().any(|i| i.name.contains("营业执照"))
                || d.entry.metadata.name.contains("营业执照")
        })
        .map(|d| d.entry.metadata.name.as_str())
        .collect();
    let got: BTreeSet<&str> = names(&results).into_iter().collect();
    assert_eq!(got, want);
    let hit = results.items.iter().find(|h| h.name == "个体工商户登记信息").unwrap();
    assert!(hit.highlights["items"].contains("<mark>营业执照</mark>"), "{:?}", hit.highlights);
    assert!(!hit.highlights.contains_key("name"));
}

#[test]
fn every_query_word_must_match_and_nonsense_finds_nothing() {
    let (index, _) = index_with_corpus();
    let viewer = government();
    assert_eq!(search(&index, "量子纠缠", &viewer).total, 0);
    // 不动产 and 抵押 together: only the mortgage entry.
    assert_eq!(names(&search(&index, "不动产 抵押", &viewer)), ["不动产抵押登记信息"]);
    // Stop words and punctuation do not get in the way.
    assert_eq!(names(&search(&index, "婚姻的登记！", &viewer))[0], "婚姻登记信息");
    // Only punctuation: a browse.
    let all = search(&index, "，。！", &viewer);
    assert_eq!(all.total, search(&index, "", &viewer).total);
}

#[test]
fn resource_code_finds_its_entry() {
    let (index, docs) = index_with_corpus();
    let code = code_of(&docs, "营业执照信息");
    let results = search(&index, &code, &government());
    assert_eq!(results.items[0].code, code, "{:?}", names(&results));
}

#[test]
fn visibility_rules_hold_for_every_viewer() {
    let (index, docs) = index_with_corpus();
    for (who, viewer) in viewers() {
        for q in ["", "信息", "人口", "营业执照", "死亡", "许可"] {
            let results = search(&index, q, &viewer);
            let got: BTreeSet<String> = results.items.iter().map(|h| h.code.clone()).collect();
            assert_eq!(results.total as usize, got.len());
            for hit in &results.items {
                let doc = docs.iter().find(|d| d.entry.code.to_string() == hit.code).unwrap();
                assert!(viewer.can_see(doc), "{who} must not see {}", hit.name);
            }
            if q.is_empty() {
                let want: BTreeSet<String> =
                    docs.iter().filter(|d| viewer.can_see(d)).map(|d| d.entry.code.to_string()).collect();
                assert_eq!(got, want, "{who} browsing");
            }
        }
    }
}

#[test]
fn departments_see_only_their_own_unpublished_entries() {
    let (index, _) = index_with_corpus();
    let draft = "企业迁移登记信息";
    assert!(names(&search(&index, "企业迁移", &Viewer::department(SCJG.0))).contains(&draft));
    assert!(!names(&search(&index, "企业迁移", &Viewer::department(GA.0))).contains(&draft));
    assert!(names(&search(&index, "企业迁移", &Viewer::reviewer(DSJ.0))).contains(&draft));
    assert!(!names(&search(&index, "企业迁移", &Viewer::anonymous())).contains(&draft));

    // 公安 sees its own submitted entry, 市场监管 does not.
    let submitted = "人口死亡注销信息";
    assert!(names(&search(&index, "人口", &Viewer::department(GA.0))).contains(&submitted));
    assert!(!names(&search(&index, "人口", &Viewer::department(SCJG.0))).contains(&submitted));

    // Facet counts do not leak the other department's drafts either.
    let r = search(&index, "", &Viewer::department(GA.0));
    let status: BTreeMap<&str, u64> =
        r.facets["status"].iter().map(|f| (f.value.as_str(), f.count)).collect();
    assert_eq!(status.get("draft"), None, "{status:?}");
    assert_eq!(status.get("submitted"), Some(&1));
    assert_eq!(status.get("approved"), None);
}

#[test]
fn withdrawn_discarded_and_superseded_are_found_by_nobody() {
    let (index, _) = index_with_corpus();
    for (who, viewer) in viewers() {
        let all = search(&index, "", &viewer);
        for gone in ["旧版人口信息", "低保对象名单（作废）", "学生营养餐信息（旧版本）"]
        {
            assert!(!names(&all).contains(&gone), "{who} sees {gone}");
        }
        assert!(search(&index, "旧版", &viewer).items.is_empty(), "{who}");
        assert!(search(&index, "营养餐", &viewer).items.is_empty(), "{who}");
    }
}

#[test]
fn anonymous_sees_open_data_only() {
    let (index, docs) = index_with_corpus();
    let results = search(&index, "", &Viewer::anonymous());
    assert!(results.total > 0);
    for hit in &results.items {
        assert_eq!(hit.status.as_str(), "published");
        assert_ne!(serde_json::to_value(hit.open_type).unwrap(), "not_open", "{}", hit.name);
    }
    let open = docs
        .iter()
        .filter(|d| {
            d.entry.status.as_str() == "published"
                && d.entry.metadata.open_type != govdata_model::catalog::OpenType::NotOpen
        })
        .count();
    assert_eq!(results.total as usize, open);
}

/// Facet counts against a brute-force count over the corpus: the query, the
/// viewer and every filter except the facet's own.
#[test]
fn facet_counts_respect_query_viewer_and_other_filters() {
    let (with_deletes, docs) = index_with_corpus();
    // An index without deleted documents (each key once, one commit): where
    // a large match set has its closed-vocabulary facets counted by value.
    let without_deletes = SearchIndex::in_memory().unwrap();
    let latest: BTreeMap<_, _> = docs.iter().map(|d| (d.key(), d.clone())).collect();
    without_deletes.rebuild(latest.into_values()).unwrap();
    let filter_sets: Vec<Filters> = vec![
        Filters::default(),
        Filters { share_type: vec!["unconditional".into()], ..Filters::default() },
        Filters { provider: vec![SCJG.0.into(), ZRZY.0.into()], ..Filters::default() },
        Filters {
            provider: vec![SCJG.0.into()],
            open_type: vec!["unconditional".into()],
            ..Filters::default()
        },
        Filters { region: vec!["330100".into()], ..Filters::default() },
        Filters {
            grade: vec!["general_4".into(), "important".into()],
            class: vec!["base".into()],
            ..Filters::default()
        },
        Filters {
            node: vec![ZJ.0.into()],
            update_cycle: vec!["monthly".into()],
            format_class: vec!["database".into()],
            ..Filters::default()
        },
        // Several values of several facets: one bitset per facet, ANDed.
        Filters {
            grade: vec!["general_4".into(), "important".into(), "core".into(), "ungraded".into()],
            update_cycle: vec!["monthly".into(), "daily".into(), "yearly".into()],
            share_type: vec!["unconditional".into(), "conditional".into()],
            ..Filters::default()
        },
    ];
    for ((who, viewer), index) in
        viewers().into_iter().flat_map(|v| [(v.clone(), &with_deletes), (v, &without_deletes)])
    {
        for q in ["", "信息", "营业执照"] {
            // Which documents the text query matches, from an unfiltered search.
            let matched: BTreeSet<String> =
                search(index, q, &viewer).items.into_iter().map(|h| h.code).collect();
            for filters in &filter_sets {
                let query = SearchQuery {
                    q: q.into(),
                    size: 100,
                    filters: filters.clone(),
                    ..SearchQuery::default()
                };
                let results = index.search(&query, &viewer).unwrap();
                let visible = docs.iter().filter(|d| matched.contains(&d.entry.code.to_string()));
                let want_total = visible.clone().filter(|d| matches_filters(d, filters, None)).count();
                assert_eq!(results.total as usize, want_total, "{who} {q:?} {filters:?}");
                assert_eq!(results.items.len(), want_total);
                for facet in Facet::ALL {
                    let mut want: BTreeMap<String, u64> = BTreeMap::new();
                    for d in visible.clone().filter(|d| matches_filters(d, filters, Some(facet))) {
                        *want.entry(facet_value(d, facet)).or_default() += 1;
                    }
                    let got: BTreeMap<String, u64> =
                        results.facets[facet.name()].iter().map(|f| (f.value.clone(), f.count)).collect();
                    assert_eq!(got, want, "{who} {q:?} {filters:?} facet {}", facet.name());
                }
            }
        }
    }
}

#[test]
fn facets_carry_labels_and_sort_by_count() {
    let (index, _) = index_with_corpus();
    let r = search(&index, "", &government());
    assert_eq!(r.facets.len(), Facet::ALL.len());
    let providers = &r.facets["provider"];
    assert_eq!(providers[0].value, SCJG.0);
    assert_eq!(providers[0].label, SCJG.1);
    assert!(providers.windows(2).all(|w| w[0].count >= w[1].count));
    let share: BTreeMap<&str, &str> =
        r.facets["share_type"].iter().map(|f| (f.value.as_str(), f.label.as_str())).collect();
    assert_eq!(share["unconditional"], "无条件共享");
    let nodes: BTreeMap<&str, &str> =
        r.facets["node"].iter().map(|f| (f.value.as_str(), f.label.as_str())).collect();
    assert_eq!(nodes[HZ.0], HZ.1);
    let grades: BTreeSet<&str> = r.facets["grade"].iter().map(|f| f.value.as_str()).collect();
    assert!(grades.contains("core") && grades.contains("general_4"), "{grades:?}");
}

#[test]
fn recent_sort_and_browse_order_by_update_time() {
    let (index, _) = index_with_corpus();
    let viewer = Viewer::reviewer(DSJ.0);
    for sort in [Sort::Recent, Sort::Relevance] {
        let r = index.search(&SearchQuery { size: 100, sort, ..SearchQuery::default() }, &viewer).unwrap();
        assert!(r.items.windows(2).all(|w| w[0].updated_at >= w[1].updated_at), "{sort:?}");
        assert_eq!(r.items[0].name, "工伤认定信息");
    }
    // With a query, Recent still orders by time, not score.
    let r = index
        .search(&SearchQuery { sort: Sort::Recent, size: 100, ..SearchQuery::text("人口") }, &viewer)
        .unwrap();
    assert!(r.items.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));
    assert_ne!(r.items[0].name, "人口基础信息");
    assert!(r.items.iter().all(|h| h.score > 0.0));
}

#[test]
fn paging_covers_every_result_once() {
    let (index, _) = index_with_corpus();
    let viewer = Viewer::reviewer(DSJ.0);
    for sort in [Sort::Relevance, Sort::Recent] {
        for q in ["", "信息"] {
            let all = index
                .search(&SearchQuery { q: q.into(), size: 100, sort, ..SearchQuery::default() }, &viewer)
                .unwrap();
            let mut paged = Vec::new();
            for page in 1..=10 {
                let r = index
                    .search(
                        &SearchQuery { q: q.into(), page, size: 7, sort, ..SearchQuery::default() },
                        &viewer,
                    )
                    .unwrap();
                assert_eq!(r.total, all.total);
                assert!(r.items.len() <= 7);
                paged.extend(r.items.into_iter().map(|h| h.code));
            }
            let want: Vec<String> = all.items.into_iter().map(|h| h.code).collect();
            assert_eq!(paged, want, "{sort:?} {q:?}");
        }
    }
    // Past the end: no items, the same total.
    let r = index.search(&SearchQuery { page: 50, size: 10, ..SearchQuery::default() }, &viewer).unwrap();
    assert!(r.items.is_empty());
    assert!(r.total > 0);
}

/// A short first page is the start of the long one: ranking first the
/// matches that hold a word in their name or keywords, and the others only
/// when one of them could still make the page, gives the order (and the
/// scores) of ranking every match.
#[test]
fn short_pages_start_like_long_ones() {
    let (index, _) = index_with_corpus();
    let queries =
        ["人口", "营业执照", "社保", "信息", "统一社会信用代码", "不动产 登记", "许可证", "法人单位", "数据"];
    for viewer in [government(), Viewer::anonymous(), Viewer::reviewer(DSJ.0)] {
        for q in queries {
            let all = search(&index, q, &viewer);
            for size in 1..=6 {
                let page = index.search(&SearchQuery { size, ..SearchQuery::text(q) }, &viewer).unwrap();
                let got: Vec<(&str, f32)> = page.items.iter().map(|h| (h.code.as_str(), h.score)).collect();
                let want: Vec<(&str, f32)> =
                    all.items.iter().take(size as usize).map(|h| (h.code.as_str(), h.score)).collect();
                assert_eq!(got, want, "{q:?} size {size} as {viewer:?}");
                assert_eq!(page.total, all.total);
                assert_eq!(page.facets, all.facets);
            }
        }
    }
}

#[test]
fn bad_paging_is_refused_with_the_field() {
    let index = SearchIndex::in_memory().unwrap();
    let viewer = government();
    let cases = [
        (SearchQuery { page: 0, ..SearchQuery::default() }, "page"),
        (SearchQuery { size: 0, ..SearchQuery::default() }, "size"),
        (SearchQuery { size: 101, ..SearchQuery::default() }, "size"),
        (SearchQuery { page: 101, size: 100, ..SearchQuery::default() }, "page"),
        (SearchQuery::text("人".repeat(201)), "q"),
    ];
    for (query, field) in cases {
        let err = index.search(&query, &viewer).unwrap_err();
        assert!(matches!(err, SearchError::InvalidQuery { .. }), "{err}");
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert_eq!(err.field(), Some(field));
    }
    assert!(index.search(&SearchQuery { page: 100, size: 100, ..SearchQuery::default() }, &viewer).is_ok());
}

#[test]
fn highlights_mark_matches_and_escape_html() {
    let (index, _) = index_with_corpus();
    let r = search(&index, "危险化学品", &government());
    let hit = &r.items[0];
    assert_eq!(hit.name, "危险化学品经营许可证信息<试行>&附件");
    let name = &hit.highlights["name"];
    assert!(name.contains("<mark>"), "{name}");
    assert!(name.contains("&lt;试行&gt;&amp;附件"), "{name}");
    let summary = &hit.highlights["summary"];
    assert!(summary.contains("&lt;b&gt;"), "{summary}");
    assert!(!summary.contains("<b>"), "{summary}");

    let r = search(&index, "人口", &government());
    let top = &r.items[0];
    assert_eq!(top.highlights["name"], "<mark>人口</mark>基础信息");
    assert!(top.highlights["keywords"].contains("<mark>人口</mark>"));
    // Adjacent marked words read as one; parts of a word are not marked
    // when the whole word is.
    let r = search(&index, "统一社会信用代码", &government());
    assert!(r.items.iter().all(|h| h.highlights["items"].contains("<mark>统一社会信用代码</mark>")));
    let r = search(&index, "社保", &government());
    assert_eq!(r.items[0].highlights["name"], "<mark>社会保险</mark>参保信息");
    assert!(!r.items[0].highlights.contains_key("provider"), "{:?}", r.items[0].highlights);
    // Browse: nothing to highlight.
    assert!(search(&index, "", &government()).items.iter().all(|h| h.highlights.is_empty()));
}

#[test]
fn results_serialize_as_the_api_shape() {
    let (index, _) = index_with_corpus();
    let r = index.search(&SearchQuery { size: 2, ..SearchQuery::text("营业执照") }, &government()).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    let obj = json.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["facets", "items", "total"]);
    let item = &json["items"][0];
    for key in [
        "code",
        "version",
        "name",
        "summary",
        "provider_name",
        "node_id",
        "status",
        "share_type",
        "open_type",
        "grade",
        "updated_at",
        "score",
        "highlights",
    ] {
        assert!(item.get(key).is_some(), "hit lacks {key}: {item}");
    }
    assert_eq!(item["status"], "published");
    assert!(item["updated_at"].as_str().unwrap().starts_with("2024-"));
    assert!(json["facets"]["provider"][0].get("label").is_some());
    let back: SearchResults = serde_json::from_value(json).unwrap();
    assert_eq!(back.total, r.total);
}
