// 一本账: what the visible catalog holds, by department, class, share and open
// type and grade (the search facets, so everyone sees exactly what they may),
// and, for a logged-in department, its applications and sharing volume.

import { get } from "../api";
import { Async, useLoad } from "../components/Async";
import { Chart, type Series } from "../components/Chart";
import { useT } from "../i18n";
import { useSession } from "../session";
import type { Application, FacetValue, SearchResult } from "../types";

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

/** A facet as chart points, named in the portal's language where it knows the value. */
export const facetSeries = (facet: FacetValue[] | undefined, label: (value: string) => string, prefix = ""): Series[] =>
  (facet ?? []).map((value) => {
    const known = label(prefix + value.value);
    return { label: known === prefix + value.value ? value.label : known, value: value.count };
  });

function CatalogDashboard({ result }: { result: SearchResult }) {
  const { t, label } = useT();
  const count = (facet: string, value: string) => result.facets[facet]?.find((v) => v.value === value)?.count ?? 0;
  const openable = result.total - count("open_type", "not_open");
  return (
    <>
      <dl className="totals">
        <Total label={t("home.entries")} value={result.total} />
        <Total label={t("home.providers")} value={result.facets.provider?.length ?? 0} />
        <Total label={t("home.unconditional")} value={count("share_type", "unconditional")} />
        <Total label={t("home.openable")} value={openable} />
      </dl>
      <div className="charts">
        <Chart kind="bar" title={t("home.byProvider")} data={facetSeries(result.facets.provider, label).slice(0, 15)} />
        <Chart kind="pie" title={t("home.byClass")} data={facetSeries(result.facets.class, label)} />
        <Chart kind="pie" title={t("home.byShareType")} data={facetSeries(result.facets.share_type, label)} />
        <Chart kind="pie" title={t("home.byOpenType")} data={facetSeries(result.facets.open_type, label, "open.")} />
        <Chart kind="bar" title={t("home.byGrade")} data={facetSeries(result.facets.grade, label)} />
      </div>
    </>
  );
}

function SharingDashboard({ actor }: { actor: string }) {
  const { t, label } = useT();
  const applications = useLoad(() => get<Application[]>("/sharing/applications"), [actor]);
  const usage = useLoad(() => get<Usage[]>("/sharing/usage", { days: 30 }), [actor]);
  return (
    <div className="charts">
      <Async loaded={applications}>
        {(list) => {
          const byStatus = new Map<string, number>();
          list.forEach((application) => byStatus.set(application.status, (byStatus.get(application.status) ?? 0) + 1));
          const overdue = list.filter((application) => application.overdue).length;
          return (
            <>
              <Chart kind="pie" title={t("home.applications")} data={[...byStatus].map(([status, value]) => ({ label: label(status), value }))} />
              <dl className="totals single">
                <Total label={t("home.overdue")} value={overdue} warn={overdue > 0} />
              </dl>
            </>
          );
        }}
      </Async>
      <Async loaded={usage}>
        {(grants) => {
          const byDay = new Map<string, number>();
          grants.flatMap((grant) => grant.days).forEach((day) => byDay.set(day.day, (byDay.get(day.day) ?? 0) + day.calls));
          const days = [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, value]) => ({ label: day.slice(5), value }));
          return <Chart kind="line" title={t("home.usage")} data={days} />;
        }}
      </Async>
    </div>
  );
}

function Total({ label, value, warn }: { label: string; value: number; warn?: boolean }) {
  return (
    <div className={warn ? "total warn" : "total"}>
      <dt>{label}</dt>
      <dd>{value.toLocaleString()}</dd>
    </div>
  );
}
