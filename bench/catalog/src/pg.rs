//! The alternative: the same documents in PostgreSQL, searched the way a
//! team without a Chinese text-search extension would (zhparser and
//! pg_jieba are not in the distribution's packages): every run of Chinese
//! characters split into overlapping character bigrams, kept in a weighted
//! `tsvector` (name A, keywords B, items C, provider / classification /
//! summary D) with a GIN index; a query word becomes the phrase of its
//! bigrams (`'营业' <-> '业执' <-> '执照'`), words are ANDed, hits ranked by
//! `ts_rank`; facets are plain text columns with B-tree indexes, counted
//! with `GROUPING SETS`. pg_trgm was the other candidate, but its trigrams
//! cannot serve the two-character words most Chinese queries are (人口,
//! 社保, 医疗), so `LIKE '%人口%'` would scan the table.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use govdata_search::{Facet, Filters, SearchDoc, Viewer};
use serde_json::json;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use crate::gen::{Generator, World};
use crate::{emit, MixQuery};

const ROLE: &str = "govdata_bench_catalog";
const DATABASE: &str = "govdata_bench_catalog";
const PASSWORD: &str = "bench-catalog-scratch";

fn wire<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// Tokens of a text: overlapping bigrams of each run of Chinese characters
/// (the character itself for a run of one), lower-cased runs of Latin
/// letters and digits; everything else separates.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            if run.len() == 1 {
                out.push(run[0].to_string());
            } else {
                out.extend(run.windows(2).map(|w| w.iter().collect::<String>()));
            }
        } else if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() && !is_cjk(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect::<String>().to_lowercase());
        } else {
            i += 1;
        }
    }
    out
}

/// The `tsvector` literal of weighted texts.
fn tsvector(fields: &[(&str, char)]) -> String {
    let mut lexemes: BTreeMap<String, Vec<(u32, char)>> = BTreeMap::new();
    let mut pos = 1u32;
    for (text, weight) in fields {
        for t in tokens(text) {
            let e = lexemes.entry(t).or_default();
            if e.len() < 256 && pos <= 16_383 {
                e.push((pos, *weight));
            }
            pos += 1;
        }
        pos += 1;
    }
    let mut out = String::new();
    for (lexeme, positions) in lexemes {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('\'');
        out.push_str(&lexeme.replace('\'', "''").replace('\\', "\\\\"));
        out.push('\'');
        for (i, (p, w)) in positions.iter().enumerate() {
            out.push(if i == 0 { ':' } else { ',' });
            out.push_str(&p.to_string());
            out.push(*w);
        }
    }
    out
}

/// The tsquery of what a person typed: each whitespace-separated word the
/// phrase of its tokens, the words ANDed. `None` for a browse.
fn tsquery(q: &str) -> Option<String> {
    let words: Vec<String> = q
        .split_whitespace()
        .map(|w| tokens(w).iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(" <-> "))
        .filter(|w| !w.is_empty())
        .collect();
    (!words.is_empty()).then(|| words.iter().map(|w| format!("({w})")).collect::<Vec<_>>().join(" & "))
}

/// COPY text-format escaping.
fn copy_field(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

fn copy_row(out: &mut String, doc: &SearchDoc) {
    let e = &doc.entry;
    let m = &e.metadata;
    let keywords = m.keywords.join("、");
    let items = m.items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("、");
    let classification =
        format!("{} {} {}", m.classification.class.label_zh(), m.classification.code(), e.code);
    let tsv = tsvector(&[
        (&m.name, 'A'),
        (&keywords, 'B'),
        (&items, 'C'),
        (&doc.provider_name, 'D'),
        (&classification, 'D'),
        (&m.summary, 'D'),
    ]);
    let fields: [String; 20] = [
        format!("{}\u{1f}{}", doc.node_id, e.code),
        e.code.to_string(),
        e.version.to_string(),
        doc.node_id.clone(),
        doc.region.clone(),
        m.provider.department_id.clone(),
        doc.provider_name.clone(),
        wire(&m.classification.class),
        wire(&m.share_type),
        wire(&m.open_type),
        govdata_search::grade_value(e.grade.as_ref()),
        wire(&m.update_cycle),
        wire(&m.format_class),
        e.status.as_str().to_owned(),
        ((e.updated_at.unix_timestamp_nanos() / 1000) as i64).to_string(),
        m.name.clone(),
        m.summary.clone(),
        keywords.clone(),
        items.clone(),
        tsv,
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        copy_field(out, f);
    }
    out.push('\n');
}

pub struct Postgres {
    url: String,
    /// What to undo: the scratch role and database, the cluster start.
    created: bool,
    started_cluster: bool,
}

fn psql(sql: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("runuser")
        .args(["-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .status()
        .context("running psql as postgres")?;
    if !status.success() {
        bail!("psql failed: {sql}");
    }
    Ok(())
}

impl Postgres {
    /// Uses `url`, or starts the local cluster with settings a search
    /// deployment would use and makes a scratch role and database.
    pub async fn prepare(url: Option<String>) -> anyhow::Result<Postgres> {
        if let Some(url) = url {
            return Ok(Postgres { url, created: false, started_cluster: false });
        }
        let running = std::process::Command::new("pg_ctlcluster")
            .args(["15", "main", "status"])
            .stdout(std::process::Stdio::null())
            .status()?
            .success();
        let mut started_cluster = false;
        if !running {
            // Memory for a 24 GiB machine; fsync off as for every load in
            // these benches (the search phase only reads); JIT off, since it
            // compiles for ~100 ms whenever a plan's cost is high, which
            // facet counts over millions of rows always are.
            let options = "-c shared_buffers=4GB -c effective_cache_size=16GB -c work_mem=64MB \
                           -c maintenance_work_mem=2GB -c max_wal_size=8GB -c fsync=off \
                           -c synchronous_commit=off -c full_page_writes=off -c jit=off \
                           -c random_page_cost=1.1 -c max_connections=100";
            let status = std::process::Command::new("pg_ctlcluster")
                .args(["15", "main", "start", "--", "-o", options])
                .status()?;
            if !status.success() {
                bail!("pg_ctlcluster 15 main start failed");
            }
            started_cluster = true;
            eprintln!("started PostgreSQL 15 (cluster 15/main) with: {options}");
        }
        let setup = (|| {
            psql(&format!("DROP DATABASE IF EXISTS {DATABASE}"))?;
            psql(&format!("DROP ROLE IF EXISTS {ROLE}"))?;
            psql(&format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'"))?;
            psql(&format!("CREATE DATABASE {DATABASE} OWNER {ROLE} ENCODING 'UTF8' TEMPLATE template0"))
        })();
        let pg = Postgres {
            url: format!("postgres://{ROLE}:{PASSWORD}@127.0.0.1:5432/{DATABASE}"),
            created: true,
            started_cluster,
        };
        if let Err(e) = setup {
            pg.cleanup().await;
            return Err(e);
        }
        Ok(pg)
    }

    pub async fn cleanup(&self) {
        if self.created {
            let _ = psql(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"));
            let _ = psql(&format!("DROP ROLE IF EXISTS {ROLE}"));
        } else if let Ok(mut conn) = PgConnection::connect(&self.url).await {
            let _ = sqlx::query("DROP TABLE IF EXISTS bench_catalog_docs").execute(&mut conn).await;
        }
        if self.started_cluster {
            let _ = std::process::Command::new("pg_ctlcluster").args(["15", "main", "stop"]).status();
        }
    }

    async fn connect(&self) -> anyhow::Result<PgConnection> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::query("SET work_mem = '64MB'").execute(&mut conn).await?;
        sqlx::query("SET jit = off").execute(&mut conn).await?;
        Ok(conn)
    }

    /// COPY the documents in, then build the indexes.
    pub async fn load(&self, world: &World, seed: u64, entries: u64) -> anyhow::Result<()> {
        let mut conn = self.connect().await?;
        sqlx::query("DROP TABLE IF EXISTS bench_catalog_docs").execute(&mut conn).await?;
        sqlx::query(
            "CREATE TABLE bench_catalog_docs (key text NOT NULL, code text NOT NULL, version int NOT NULL, \
             node text NOT NULL, region text NOT NULL, provider text NOT NULL, provider_name text NOT NULL, \
             class text NOT NULL, share_type text NOT NULL, open_type text NOT NULL, grade text NOT NULL, \
             update_cycle text NOT NULL, format_class text NOT NULL, status text NOT NULL, \
             updated_at bigint NOT NULL, name text NOT NULL, summary text NOT NULL, keywords text NOT NULL, \
             items text NOT NULL, tsv tsvector NOT NULL)",
        )
        .execute(&mut conn)
        .await?;
        let start = Instant::now();
        let mut copy = conn
            .copy_in_raw(
                "COPY bench_catalog_docs (key, code, version, node, region, provider, provider_name, class, \
                 share_type, open_type, grade, update_cycle, format_class, status, updated_at, name, summary, \
                 keywords, items, tsv) FROM STDIN",
            )
            .await?;
        let mut generator = Generator::new(world, seed);
        let mut buf = String::with_capacity(4 << 20);
        let mut bytes = 0u64;
        for _ in 0..entries {
            let doc = generator.next_doc();
            if doc.visibility().is_none() {
                continue;
            }
            copy_row(&mut buf, &doc);
            if buf.len() > (4 << 20) - 8192 {
                bytes += buf.len() as u64;
                copy.send(buf.as_bytes()).await?;
                buf.clear();
            }
        }
        bytes += buf.len() as u64;
        copy.send(buf.as_bytes()).await?;
        let rows = copy.finish().await?;
        let copy_s = start.elapsed().as_secs_f64();
        emit("postgres_copy_s", copy_s, "s", json!({"rows": rows, "copy_bytes": bytes}));

        let start = Instant::now();
        sqlx::query("SET maintenance_work_mem = '2GB'").execute(&mut conn).await?;
        let mut statements = vec![
            "ALTER TABLE bench_catalog_docs ADD PRIMARY KEY (key)".to_owned(),
            "CREATE INDEX ON bench_catalog_docs USING gin (tsv) WITH (fastupdate = off)".to_owned(),
            "CREATE INDEX ON bench_catalog_docs (updated_at)".to_owned(),
        ];
        for facet in Facet::ALL {
            statements.push(format!("CREATE INDEX ON bench_catalog_docs ({})", facet.name()));
        }
        statements.push("VACUUM ANALYZE bench_catalog_docs".to_owned());
        for s in &statements {
            let t = Instant::now();
            sqlx::query(s).execute(&mut conn).await?;
            eprintln!("postgres: {s} — {:.1} s", t.elapsed().as_secs_f64());
        }
        let index_s = start.elapsed().as_secs_f64();
        emit("postgres_index_s", index_s, "s", json!({}));
        emit("postgres_build_s", copy_s + index_s, "s", json!({"note": "COPY + indexes + VACUUM ANALYZE"}));
        let row = sqlx::query(
            "SELECT pg_table_size('bench_catalog_docs') AS t, pg_indexes_size('bench_catalog_docs') AS i, \
             (SELECT pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = 'bench_catalog_docs'::regclass \
              AND indexrelid::regclass::text LIKE '%tsv%') AS g",
        )
        .fetch_one(&mut conn)
        .await?;
        let (t, i, g): (i64, i64, Option<i64>) = (row.try_get("t")?, row.try_get("i")?, row.try_get("g")?);
        emit("postgres_table_bytes", t as f64, "bytes", json!({"mib": t >> 20}));
        emit("postgres_indexes_bytes", i as f64, "bytes", json!({"mib": i >> 20, "gin_bytes": g}));
        emit("postgres_total_bytes", (t + i) as f64, "bytes", json!({"mib": (t + i) >> 20}));
        Ok(())
    }

    /// One pass of the mix; the total of each query.
    pub async fn warm(&self, mix: &[MixQuery]) -> anyhow::Result<Vec<u64>> {
        let mut conn = self.connect().await?;
        let mut totals = Vec::new();
        for q in mix {
            totals.push(search(&mut conn, q).await?);
        }
        Ok(totals)
    }

    /// Each query once, one client: milliseconds.
    pub async fn alone(&self, mix: &[MixQuery]) -> anyhow::Result<Vec<f64>> {
        let mut conn = self.connect().await?;
        let mut out = Vec::new();
        for q in mix {
            let t = Instant::now();
            search(&mut conn, q).await?;
            out.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(out)
    }

    pub async fn run_clients(
        &self,
        mix: &[MixQuery],
        clients: usize,
        rounds: usize,
    ) -> anyhow::Result<(Vec<Duration>, Duration)> {
        let mut conns = Vec::new();
        for _ in 0..clients {
            conns.push(self.connect().await?);
        }
        let start = Instant::now();
        let tasks = conns.into_iter().enumerate().map(|(c, mut conn)| async move {
            let mut lat = Vec::with_capacity(rounds);
            for r in 0..rounds {
                let t = Instant::now();
                search(&mut conn, &mix[(c + r) % mix.len()]).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        });
        let results = futures_join_all(tasks).await;
        let wall = start.elapsed();
        let mut all = Vec::new();
        for r in results {
            all.extend(r?);
        }
        Ok((all, wall))
    }
}

/// Runs the futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}

/// The WHERE clause for the viewer, the text and the filters (all but
/// `except`), with its bind values in order.
fn conditions(q: &MixQuery, tsq: Option<&str>, except: Option<Facet>, binds: &mut Vec<Bind>) -> String {
    let mut parts = Vec::new();
    match &q.viewer.department_id {
        _ if q.viewer.sees_all_unpublished => {}
        None => parts.push("status = 'published' AND open_type <> 'not_open'".to_owned()),
        Some(d) => {
            binds.push(Bind::Text(d.clone()));
            parts.push(format!("(status = 'published' OR provider = ${})", binds.len()));
        }
    }
    if let Some(tsq) = tsq {
        binds.push(Bind::Text(tsq.to_owned()));
        parts.push(format!("tsv @@ ${}::tsquery", binds.len()));
    }
    let filters: &Filters = &q.query.filters;
    for facet in filters.active() {
        if Some(facet) == except {
            continue;
        }
        binds.push(Bind::List(filters.values(facet).to_vec()));
        parts.push(format!("{} = ANY(${})", facet.name(), binds.len()));
    }
    if parts.is_empty() {
        "TRUE".to_owned()
    } else {
        parts.join(" AND ")
    }
}

enum Bind {
    Text(String),
    List(Vec<String>),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for b in binds {
        query = match b {
            Bind::Text(s) => query.bind(s.as_str()),
            Bind::List(v) => query.bind(v.as_slice()),
        };
    }
    query
}

/// What govdata's search answers, in SQL: the first page of 20 by rank
/// (then newest), the total, and every facet's counts — unselected facets
/// over the full condition in one GROUPING SETS pass, each selected facet
/// with every filter but its own.
async fn search(conn: &mut PgConnection, q: &MixQuery) -> anyhow::Result<u64> {
    let tsq = tsquery(&q.query.q);
    let mut binds = Vec::new();
    let cond = conditions(q, tsq.as_deref(), None, &mut binds);
    let page = match &tsq {
        Some(_) => format!(
            "SELECT code, name, summary, provider_name, status, share_type, open_type, updated_at, \
             ts_rank(tsv, ${}::tsquery) AS rank FROM bench_catalog_docs WHERE {cond} \
             ORDER BY rank DESC, updated_at DESC LIMIT 20",
            binds
                .iter()
                .position(|b| matches!(b, Bind::Text(t) if Some(t) == tsq.as_ref()))
                .map_or(0, |i| i + 1)
        ),
        None => format!(
            "SELECT code, name, summary, provider_name, status, share_type, open_type, updated_at \
             FROM bench_catalog_docs WHERE {cond} ORDER BY updated_at DESC LIMIT 20"
        ),
    };
    let rows = bind_all(sqlx::query(&page), &binds).fetch_all(&mut *conn).await?;
    let _ = rows.len();

    let selected: Vec<Facet> = q.query.filters.active().collect();
    let unselected: Vec<&str> =
        Facet::ALL.iter().filter(|f| !selected.contains(f)).map(|f| f.name()).collect();
    let sets: Vec<String> =
        std::iter::once("()".to_owned()).chain(unselected.iter().map(|c| format!("({c})"))).collect();
    let facets = format!(
        "SELECT {cols}, GROUPING({cols}) AS g, count(*) AS n FROM bench_catalog_docs WHERE {cond} \
         GROUP BY GROUPING SETS ({sets})",
        cols = if unselected.is_empty() { "NULL::text".to_owned() } else { unselected.join(", ") },
        sets = sets.join(", ")
    );
    let rows = bind_all(sqlx::query(&facets), &binds).fetch_all(&mut *conn).await?;
    let all_bits = (1i64 << unselected.len().max(1)) - 1;
    let mut total = 0u64;
    for row in &rows {
        let g: i32 = row.try_get("g")?;
        if i64::from(g) == all_bits {
            total = row.try_get::<i64, _>("n")? as u64;
        }
    }
    for facet in selected {
        let mut binds = Vec::new();
        let cond = conditions(q, tsq.as_deref(), Some(facet), &mut binds);
        let sql = format!(
            "SELECT {c}, count(*) AS n FROM bench_catalog_docs WHERE {cond} GROUP BY {c}",
            c = facet.name()
        );
        bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *conn).await?;
    }
    Ok(total)
}

/// The fixed mix: common Chinese catalog searches, alone and with facet
/// filters (one or two facets selected), as the open-data public and as a
/// government user of one department (who also sees its unpublished
/// entries).
pub fn query_mix(world: &World) -> Vec<MixQuery> {
    // The department viewer: the 市场监督管理局 of the first node with one,
    // else that node's first department.
    let dept = world
        .departments
        .iter()
        .find(|d| crate::gen::KINDS[d.kind].slug == "shichang")
        .unwrap_or(&world.departments[0]);
    let as_dept = || Viewer::department(dept.id.clone());
    let anon = Viewer::anonymous;
    // Regions of the largest nodes.
    let mut by_size: Vec<usize> = (0..world.nodes.len()).collect();
    by_size.sort_by(|a, b| world.nodes[*b].weight.total_cmp(&world.nodes[*a].weight));
    let region = |i: usize| world.nodes[by_size[i % by_size.len()]].region.clone();
    let f = |build: &dyn Fn(&mut Filters)| {
        let mut filters = Filters::default();
        build(&mut filters);
        filters
    };
    let v = |s: &str| vec![s.to_owned()];
    vec![
        MixQuery::new("人口", Filters::default(), anon()),
        MixQuery::new("营业执照", f(&|x| x.open_type = v("unconditional")), anon()),
        MixQuery::new("社保", Filters::default(), as_dept()),
        MixQuery::new("医疗机构", f(&|x| x.share_type = v("conditional")), as_dept()),
        MixQuery::new("交通违法", f(&|x| x.region = vec![region(0), region(1)]), anon()),
        MixQuery::new("市场监管 行政处罚", Filters::default(), as_dept()),
        MixQuery::new("不动产登记", f(&|x| x.grade = v("general_2")), as_dept()),
        MixQuery::new("企业", Filters::default(), anon()),
        MixQuery::new(
            "",
            f(&|x| {
                x.share_type = v("unconditional");
                x.region = vec![region(2)];
            }),
            anon(),
        ),
        MixQuery::new("公积金", Filters::default(), as_dept()),
        MixQuery::new("低保", Filters::default(), as_dept()),
        MixQuery::new("学籍", f(&|x| x.class = v("department")), as_dept()),
        MixQuery::new("排污许可", f(&|x| x.format_class = v("database")), anon()),
        MixQuery::new("出生医学证明", Filters::default(), as_dept()),
        MixQuery::new("食品生产许可", f(&|x| x.update_cycle = v("daily")), anon()),
        MixQuery::new("统一社会信用代码", Filters::default(), anon()),
        MixQuery::new(
            "法人",
            f(&|x| {
                x.class = v("base");
                x.share_type = vec!["unconditional".into(), "conditional".into()];
            }),
            as_dept(),
        ),
        MixQuery::new(
            "养老保险",
            f(&|x| x.share_type = vec!["unconditional".into(), "conditional".into()]),
            as_dept(),
        ),
        MixQuery::new("婚姻登记", f(&|x| x.region = vec![region(3)]), as_dept()),
        MixQuery::new("纳税信用等级", Filters::default(), anon()),
        MixQuery::new("", f(&|x| x.status = v("draft")), as_dept()),
        MixQuery::new("电子证照", f(&|x| x.provider = vec![dept.id.clone()]), as_dept()),
        MixQuery::new("重大危险源", f(&|x| x.grade = v("important")), as_dept()),
        MixQuery::new("数据更新时间", Filters::default(), anon()),
    ]
}
