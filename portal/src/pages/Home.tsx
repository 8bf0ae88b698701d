// 一本账: what the visible catalog holds, by department, class, share and open
// type and grade (the search facets, so everyone sees exactly what they may),
// at a node with nodes below it also by home node, each bar opening the
// search for that node's entries; and, for a logged-in department, its
// applications and sharing volume.

import { get, withQuery } from "../api";
import { Async, useLoad } from "../components/Async";
import { Chart, type Series } from "../components/Chart";
import { useT } from "../i18n";
import { useSession } from "../session";
import type { FacetValue, SearchResult } from "../types";

interface Usage {
  days: { day: string; calls: number }[];
}

export function Home() {
  const { t } = useT();
  const { me } = useSession();
  const catalog = useLoad(() => get<SearchResult>("/catalog/search", { size: 1, status: "published" }), [me?.actor]);
  return (
    <section>
      <h1>{t("home.title")}</h1>
      <Async loaded={catalog}>{(result) => <CatalogDashboard result={result} />}</Async>
      {me ? <SharingDashboard actor={me.actor} /> : null}
    </section>
  );
}

/**
 * A facet as chart points, named in the portal's language where it knows the
 * value; `linked`, each point opens the search for the published entries it counts.
 */
const facetSeries = (
  facet: string,
  values: FacetValue[] | undefined,
  name: (facet: string, value: string, serverLabel: string) => string,
  linked = false,
): Series[] =>
  (values ?? []).map((value) => ({
    label: name(facet, value.value, value.label),
    value: value.count,
    ...(linked ? { href: withQuery("/catalog", { [facet]: value.value, status: "published" }) } : {}),
  }));

function CatalogDashboard({ result }: { result: SearchResult }) {
  const { t, facetValue } = useT();
  const count = (facet: string, value: string) => result.facets[facet]?.find((v) => v.value === value)?.count ?? 0;
  const openable = result.total - count("open_type", "not_open");
  // Below a parent node, the search holds every descendant's entries too.
  const nodes = result.facets.node ?? [];
  return (
    <>
      <dl className="totals">
        <Total label={t("home.entries")} value={result.total} />
        <Total label={t("home.providers")} value={result.facets.provider?.length ?? 0} />
        <Total label={t("home.unconditional")} value={count("share_type", "unconditional")} />
        <Total label={t("home.openable")} value={openable} />
      </dl>
      <div className="charts">
        {nodes.length > 1 ? <Chart kind="bar" title={t("home.byNode")} data={facetSeries("node", nodes, facetValue, true)} /> : null}
        <Chart kind="bar" title={t("home.byProvider")} data={facetSeries("provider", result.facets.provider, facetValue).slice(0, 15)} />
        <Chart kind="pie" title={t("home.byClass")} data={facetSeries("class", result.facets.class, facetValue)} />
        <Chart kind="pie" title={t("home.byShareType")} data={facetSeries("share_type", result.facets.share_type, facetValue)} />
        <Chart kind="pie" title={t("home.byOpenType")} data={facetSeries("open_type", result.facets.open_type, facetValue)} />
        <Chart kind="bar" title={t("home.byGrade")} data={facetSeries("grade", result.facets.grade, facetValue)} />
      </div>
    </>
  );
}

interface SharingReport {
  by_status: Record<string, number>;
  by_month: { month: string; by_status: Record<string, number> }[];
  overdue: number;
  answer_times: { answered: number; median_hours: number | null; p90_hours: number | null; within_deadline: number | null };
}

function SharingDashboard({ actor }: { actor: string }) {
  const { t, label } = useT();
  const report = useLoad(() => get<SharingReport>("/sharing/report", { months: 12 }), [actor]);
  const usage = useLoad(() => get<Usage[]>("/sharing/usage", { days: 30 }), [actor]);
  const hours = (value: number | null) => (value === null ? "—" : value < 48 ? `${value.toFixed(1)} h` : `${(value / 24).toFixed(1)} d`);
  return (
    <>
      <h2>{t("home.sharing")}</h2>
      <Async loaded={report}>
        {(data) => (
          <>
            <dl className="totals">
              <Total label={t("home.overdue")} value={data.overdue} warn={data.overdue > 0} />
              <Total label={t("home.answered")} value={data.answer_times.answered} />
              <Total label={t("home.medianAnswer")} value={hours(data.answer_times.median_hours)} />
              <Total label={t("home.p90Answer")} value={hours(data.answer_times.p90_hours)} />
              <Total
                label={t("home.withinDeadline")}
                value={data.answer_times.within_deadline === null ? "—" : `${Math.round(data.answer_times.within_deadline * 100)}%`}
              />
            </dl>
            <div className="charts">
              <Chart kind="pie" title={t("home.applications")} data={Object.entries(data.by_status).map(([status, value]) => ({ label: label(status), value }))} />
              <Chart
                kind="bar"
                title={t("home.byMonth")}
                data={data.by_month.map((month) => ({ label: month.month, value: Object.values(month.by_status).reduce((a, b) => a + b, 0) }))}
              />
              <Async loaded={usage}>
                {(grants) => {
                  const byDay = new Map<string, number>();
                  grants.flatMap((grant) => grant.days).forEach((day) => byDay.set(day.day, (byDay.get(day.day) ?? 0) + day.calls));
                  const days = [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, value]) => ({ label: day.slice(5), value }));
                  return <Chart kind="line" title={t("home.usage")} data={days} />;
                }}
              </Async>
            </div>
          </>
        )}
      </Async>
    </>
  );
}

function Total({ label, value, warn }: { label: string; value: number | string; warn?: boolean }) {
  return (
    <div className={warn ? "total warn" : "total"}>
      <dt>{label}</dt>
      <dd>{typeof value === "number" ? value.toLocaleString() : value}</dd>
    </div>
  );
}
