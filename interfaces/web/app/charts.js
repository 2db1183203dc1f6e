// Charts with TradingView's lightweight-charts: lines (equity, PnL, drawdown) and candles with
// markers. Decimal strings become numbers here only, for plotting.
import { html, useEffect, useRef } from "./ui.js";
import { CandlestickSeries, LineSeries, createChart, createSeriesMarkers } from "lightweight-charts";

const COLOURS = ["#2962ff", "#e91e63", "#00897b", "#f9a825", "#6d4c41", "#8e24aa"];
const OPTIONS = {
  height: 260,
  layout: { background: { color: "#ffffff" }, textColor: "#333" },
  grid: { vertLines: { color: "#eee" }, horzLines: { color: "#eee" } },
  timeScale: { timeVisible: true, secondsVisible: false },
};

/** Seconds since the epoch (UTC), as the charts take time. */
export const seconds = (iso) => Math.floor(new Date(iso).getTime() / 1000);

/** Points sorted by time with one value per time (the last), as the charts require. */
function ordered(points) {
  const byTime = new Map();
  for (const point of points) byTime.set(point.time, point);
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

function useChart(draw, deps) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const chart = createChart(element, { ...OPTIONS, width: element.clientWidth });
    draw(chart);
    chart.timeScale().fitContent();
    const resize = new ResizeObserver(() => chart.applyOptions({ width: element.clientWidth }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.remove();
    };
  }, deps);
  return box;
}

/** Lines: ``lines`` is [{name, points: [{time, value}], priceFormat?}], values as decimal strings. */
export function LineChart({ lines, testid }) {
  const box = useChart(
    (chart) =>
      lines.forEach((line, index) => {
        const series = chart.addSeries(LineSeries, {
          color: COLOURS[index % COLOURS.length],
          lineWidth: 2,
          title: line.name,
          ...(line.priceFormat ? { priceFormat: line.priceFormat } : {}),
        });
        series.setData(ordered(line.points.map((p) => ({ time: p.time, value: Number(p.value) }))));
      }),
    [JSON.stringify(lines)],
  );
  return html`<div class="chart" data-testid=${testid} ref=${box}></div>`;
}

/** Candles with markers (e.g. fills): ``candles`` as the API gives them, ``markers`` [{time, side, text}]. */
export function CandleChart({ candles, markers, testid }) {
  const box = useChart(
    (chart) => {
      const series = chart.addSeries(CandlestickSeries, {});
      series.setData(
        ordered(
          candles.map((c) => ({
            time: seconds(c.opened_at),
            open: Number(c.open),
            high: Number(c.high),
            low: Number(c.low),
            close: Number(c.close),
          })),
        ),
      );
      createSeriesMarkers(
        series,
        [...markers]
          .sort((a, b) => a.time - b.time)
          .map((m) => ({
            time: m.time,
            position: m.side === "buy" ? "belowBar" : "aboveBar",
            color: m.side === "buy" ? "#00897b" : "#e53935",
            shape: m.side === "buy" ? "arrowUp" : "arrowDown",
            text: m.text,
          })),
      );
    },
    [candles.length, markers.length],
  );
  return html`<div class="chart" data-testid=${testid} ref=${box}></div>`;
}
