// Apache ECharts, imported piecewise so only the charts used are bundled.

import { useEffect, useRef } from "react";
import { Link, useLocation } from "wouter";
import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export interface Series {
  label: string;
  value: number;
  /** Where the point leads: a click on it, or its link under the chart. */
  href?: string;
}

export function Chart({ kind, data, title }: { kind: "bar" | "pie" | "line"; data: Series[]; title: string }) {
  const element = useRef<HTMLDivElement>(null);
  const [, navigate] = useLocation();
  const linked = data.filter((point): point is Series & { href: string } => Boolean(point.href));
  useEffect(() => {
    if (!element.current) return;
    const chart = echarts.init(element.current);
    const option =
      kind === "pie"
        ? {
            tooltip: { trigger: "item" },
            legend: { bottom: 0, type: "scroll" },
            series: [
              {
                type: "pie",
                radius: ["40%", "70%"],
                label: { formatter: (point: { percent: number }) => `${Math.round(point.percent)}%` },
                data: data.map((point) => ({ name: point.label, value: point.value })),
              },
            ],
          }
        : {
            tooltip: { trigger: "axis" },
            grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
            xAxis: { type: "category", data: data.map((point) => point.label), axisLabel: { rotate: kind === "bar" ? 30 : 0 } },
            yAxis: { type: "value" },
            series: [{ type: kind, data: data.map((point) => point.value), smooth: true }],
          };
    chart.setOption(option);
    chart.on("click", (point: { dataIndex: number }) => {
      const href = data[point.dataIndex]?.href;
      if (href) navigate(href);
    });
    const resize = () => chart.resize();
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.dispose();
    };
  }, [kind, data, navigate]);
  // The canvas is not readable by assistive technology: the figure carries the numbers as text too,
  // and the points that lead somewhere as links.
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={element} className="chart-canvas" role="img" aria-label={`${title}: ${data.map((p) => `${p.label} ${p.value}`).join("，")}`} />
      {linked.length ? (
        <ul className="chart-links">
          {linked.map((point) => (
            <li key={point.href}>
              <Link href={point.href}>{point.label}</Link> <span className="count">{point.value.toLocaleString()}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </figure>
  );
}
