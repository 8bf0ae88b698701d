//! Which live entries a draft could duplicate, without comparing it with
//! every entry and without reading every entry from the store each time.
//!
//! The duplicate check ([`govdata_model::catalog::find_duplicates`])
//! reports an entry only when the shared item names are at least
//! `item_overlap` of the larger item set, so an entry sharing fewer than
//! that share of the *draft's* items cannot be reported. [`LiveEntries`]
//! keeps the summaries of the live versions (published or in progress) with
//! an inverted index from normalized item name to versions; a draft's
//! candidates are the versions that share enough of its names, in code and
//! version order, and the check on them finds what it finds on all entries.
//!
//! The view follows the store by change number: every catalog version write
//! takes the next one ([`govdata_store::Store::catalog_summaries_since`]),
//! so a refresh reads only the versions written since the last, and a
//! process sharing the database with others still sees their writes.

use std::collections::{BTreeSet, HashMap, HashSet};

use govdata_model::catalog::{normalize, EntryDraft, EntryStatus, EntrySummary};

/// A version: its resource code (as text) and number.
type VersionKey = (String, u32);

/// A live version, in its slot.
struct LiveVersion {
    key: VersionKey,
    /// The change number it was read at.
    change: i64,
    /// How many distinct normalized item names it has.
    item_count: usize,
    summary: EntrySummary,
}

#[derive(Default)]
pub(crate) struct LiveEntries {
    /// The last change number applied.
    upto: i64,
    /// The slot of each live version in `versions`.
    slots: HashMap<VersionKey, u32>,
    /// By slot; `None` once the version left (the slot is then reused).
    versions: Vec<Option<LiveVersion>>,
    free: Vec<u32>,
    /// Normalized item name → the slots of the versions that have it.
    by_item: HashMap<String, HashSet<u32>>,
}

fn item_name_set<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    names.into_iter().map(|n| normalize(n)).filter(|n| !n.is_empty()).collect()
}

fn is_live(status: EntryStatus) -> bool {
    !matches!(status, EntryStatus::Withdrawn | EntryStatus::Discarded | EntryStatus::Superseded)
}

impl LiveEntries {
    /// An empty view; its first refresh reads every version.
    pub(crate) fn new() -> LiveEntries {
        LiveEntries { upto: -1, ..LiveEntries::default() }
    }

    /// The change number to read from.
    pub(crate) fn upto(&self) -> i64 {
        self.upto
    }

    fn version(&self, slot: u32) -> Option<&LiveVersion> {
        self.versions.get(slot as usize).and_then(Option::as_ref)
    }

    /// Applies versions read from the store (with the change number of
    /// their last write). A version read earlier than the one held (two
    /// refreshes racing) is ignored.
    pub(crate) fn apply(&mut self, changed: Vec<(i64, EntrySummary)>) {
        for (change, summary) in changed {
            self.upto = self.upto.max(change);
            let key = (summary.code.to_string(), summary.version);
            let held = self.slots.get(&key).and_then(|slot| self.version(*slot));
            if held.is_some_and(|v| v.change >= change) {
                continue;
            }
            self.remove(&key);
            if is_live(summary.status) {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        self.versions.push(None);
                        (self.versions.len() - 1) as u32
                    }
                };
                let names = item_name_set(&summary.item_names);
                let item_count = names.len();
                for name in names {
                    self.by_item.entry(name).or_default().insert(slot);
                }
                self.slots.insert(key.clone(), slot);
                self.versions[slot as usize] = Some(LiveVersion { key, change, item_count, summary });
            }
        }
    }

    fn remove(&mut self, key: &VersionKey) {
        let Some(slot) = self.slots.remove(key) else { return };
        let Some(old) = self.versions[slot as usize].take() else { return };
        self.free.push(slot);
        for name in item_name_set(&old.summary.item_names) {
            if let Some(slots) = self.by_item.get_mut(&name) {
                slots.remove(&slot);
                if slots.is_empty() {
                    self.by_item.remove(&name);
                }
            }
        }
    }

    /// The live versions `draft` could duplicate at `item_overlap`, in
    /// code and version order.
    ///
    /// A version must share at least `needed` of the draft's `n` item
    /// names, so it is in at least one of any `n - needed + 1` of their
    /// lists: candidates come from the shortest ones, and only they are
    /// looked up in the others. Names every other entry has (统一社会信用代码)
    /// are then never walked. The lookups count the shared names, so the
    /// check's own overlap rule (shared / the larger set) is applied here
    /// already, exactly as it computes it, and the check normalizes the
    /// item names of only the versions that pass it.
    pub(crate) fn candidates(&self, draft: &EntryDraft, item_overlap: f64) -> Vec<EntrySummary> {
        let mut found: Vec<&LiveVersion> = if item_overlap <= 0.0 {
            self.versions.iter().flatten().collect()
        } else {
            let names = item_name_set(draft.items.iter().map(|i| &i.name));
            // No items: the overlap is 0, below any positive threshold.
            let needed = (item_overlap * names.len() as f64 - 1e-9).ceil().max(1.0) as usize;
            if needed > names.len() {
                return Vec::new();
            }
            let empty = HashSet::new();
            let mut lists: Vec<&HashSet<u32>> =
                names.iter().map(|n| self.by_item.get(n).unwrap_or(&empty)).collect();
            lists.sort_by_key(|slots| slots.len());
            let leading = &lists[..names.len() - needed + 1];
            let mut seen = HashSet::new();
            leading
                .iter()
                .flat_map(|slots| slots.iter().copied())
                .filter(|slot| seen.insert(*slot))
                .filter_map(|slot| {
                    let shared = lists.iter().filter(|slots| slots.contains(&slot)).count();
                    let version = self.version(slot)?;
                    let larger = names.len().max(version.item_count);
                    (shared >= needed && shared as f64 / larger as f64 >= item_overlap).then_some(version)
                })
                .collect()
        };
        found.sort_by(|a, b| a.key.cmp(&b.key));
        found.into_iter().map(|v| v.summary.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use govdata_model::catalog::{
        find_duplicates, Classification, DuplicateConfig, InfoItem, ItemType, ResourceCode, TopClass,
    };

    fn summary(seq: u32, version: u32, status: EntryStatus, name: &str, items: &[&str]) -> EntrySummary {
        let class = Classification::new(TopClass::Department, 1, Some(1), None);
        EntrySummary {
            code: ResourceCode::new(class, seq).expect("code"),
            version,
            status,
            name: name.to_owned(),
            provider_department_id: "d".to_owned(),
            system_id: Some("sys".to_owned()),
            item_names: items.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn draft(names: &[String]) -> EntryDraft {
        EntryDraft {
            system_id: Some("sys".to_owned()),
            items: names.iter().map(|n| InfoItem::new(n.clone(), ItemType::Character, Some(10))).collect(),
            ..serde_json::from_value(serde_json::json!({
                "classification": {"class": "department", "section": 1, "category": 1},
                "name": "企业登记基本信息", "summary": "s", "provider": {"department_id": "d", "uscc": "x"},
                "format_class": "database", "format_type": "mysql", "items": [],
                "share_type": "unconditional", "open_type": "not_open", "update_cycle": "daily"
            }))
            .expect("draft")
        }
    }

    /// The candidates give the very findings the check gives on every entry.
    #[test]
    fn candidates_find_what_the_full_check_finds() {
        let pool = [
            "公民身份号码",
            "姓名",
            "ＩＤ　Ｎｏ．",
            "登记日期",
            "登记机关",
            "当前状态",
            "变更事项",
            "联系电话",
        ];
        let mut summaries = Vec::new();
        for i in 0..300u32 {
            let n = 1 + (i as usize * 7) % pool.len();
            let items: Vec<&str> = (0..n).map(|k| pool[(i as usize + k * 3) % pool.len()]).collect();
            let name = if i % 3 == 0 {
                "企业登记基本信息".to_owned()
            } else {
                format!("企业登记基本信息{i}")
            };
            summaries.push(summary(i + 1, 1, EntryStatus::Published, &name, &items));
        }
        let mut live = LiveEntries::new();
        live.apply(summaries.iter().cloned().enumerate().map(|(i, s)| (i as i64, s)).collect());
        let config = DuplicateConfig::default();
        let mut found = 0;
        for i in 0..40usize {
            let n = 1 + (i * 5) % pool.len();
            let names: Vec<String> =
                (0..n).map(|k| pool[(i + k * 3) % pool.len()].replace("ＩＤ　Ｎｏ．", "id no")).collect();
            let draft = draft(&names);
            let all = find_duplicates(&draft, &summaries, None, &config);
            let nearby = live.candidates(&draft, config.item_overlap);
            assert!(nearby.len() <= summaries.len());
            assert_eq!(find_duplicates(&draft, &nearby, None, &config), all, "draft {i}");
            found += all.len();
        }
        assert!(found > 0, "the drafts duplicate some entries");
    }

    /// Later writes replace a version, withdrawing one drops it, and a
    /// stale read never undoes a newer one.
    #[test]
    fn follows_the_store_by_change_number() {
        let items = ["公民身份号码", "姓名"];
        let names: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
        let codes = |live: &LiveEntries| -> Vec<(u32, EntryStatus)> {
            live.candidates(&draft(&names), 0.8).iter().map(|s| (s.code.sequence(), s.status)).collect()
        };
        let mut live = LiveEntries::new();
        live.apply(vec![
            (1, summary(1, 1, EntryStatus::Draft, "a", &items)),
            (2, summary(2, 1, EntryStatus::Published, "b", &items)),
        ]);
        assert_eq!(live.upto(), 2);
        assert_eq!(codes(&live), [(1, EntryStatus::Draft), (2, EntryStatus::Published)]);
        live.apply(vec![
            (3, summary(1, 1, EntryStatus::Submitted, "a", &items)),
            (4, summary(2, 1, EntryStatus::Withdrawn, "b", &items)),
        ]);
        assert_eq!(codes(&live), [(1, EntryStatus::Submitted)]);
        // A refresh that read before change 3 arrives late.
        live.apply(vec![(1, summary(1, 1, EntryStatus::Draft, "a", &items))]);
        assert_eq!(codes(&live), [(1, EntryStatus::Submitted)]);
        assert_eq!(live.upto(), 4);
        // Items changed: the old names no longer lead to it.
        live.apply(vec![(5, summary(1, 1, EntryStatus::Submitted, "a", &["登记日期"]))]);
        assert!(codes(&live).is_empty());
        assert!(live.by_item.keys().all(|name| name == &normalize("登记日期")));
    }
}
