// FinTrack's front-end: htmx for the pages, ECharts (only the parts we draw) for charts, and a small hub client
// for live events. Bundled by esbuild (`npm run build`) into ../static.
import htmx from "htmx.org";
import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { DatasetComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
import { followEvents } from "./events.js";
import { startLive } from "./live.js";

echarts.use([BarChart, LineChart, PieChart, DatasetComponent, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);
window.htmx = htmx;

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
const lang = () => document.documentElement.lang || "pt-BR";

// Every request htmx makes carries the CSRF token; forms answered 422 still show their errors.
document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-CSRF-Token"] = csrf();
});
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "(401|403|404|409|413|422|429)", swap: true, error: false },
  { code: "...", swap: false, error: true },
];
htmx.config.historyCacheSize = 0; // pages hold live figures: always ask the server again

document.addEventListener("htmx:responseError", () => {
  const banner = document.getElementById("request-failed");
  if (banner) banner.hidden = false;
});

// --- theme: light, dark, or the system's -------------------------------------------------------------------
function applyTheme(choice) {
  const root = document.documentElement;
  if (choice === "light" || choice === "dark") root.dataset.theme = choice;
  else delete root.dataset.theme;
}
applyTheme(localStorage.getItem("fintrack-theme"));
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-theme-toggle]");
  if (!button) return;
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === "dark"
    : matchMedia("(prefers-color-scheme: dark)").matches;
  const next = dark ? "light" : "dark";
  localStorage.setItem("fintrack-theme", next);
  applyTheme(next);
  renderCharts(document, true);
});

// --- charts: options come from the server in data-chart; money axes are formatted in the page's language -----
function isDark() {
  const theme = document.documentElement.dataset.theme;
  return theme ? theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
}

function money(currency, compact = false) {
  // Axes read best short (R$ 12 mil); tooltips give the amount to the cent.
  const options = compact
    ? { style: "currency", currency, notation: "compact", maximumSignificantDigits: 3 }
    : { style: "currency", currency };
  const format = new Intl.NumberFormat(lang(), options);
  return (value) => format.format(value);
}

function renderCharts(root, again = false) {
  root.querySelectorAll("[data-chart]").forEach((el) => {
    if (el.dataset.drawn && !again) return;
    const option = JSON.parse(el.dataset.chart);
    const currency = el.dataset.currency;
    if (currency) {
      const full = money(currency);
      const short = money(currency, true);
      option.tooltip = { trigger: option.series?.[0]?.type === "pie" ? "item" : "axis", valueFormatter: full, ...(option.tooltip || {}) };
      for (const axis of [].concat(option.yAxis || [])) axis.axisLabel = { formatter: short, ...(axis.axisLabel || {}) };
    }
    option.backgroundColor = "transparent";
    echarts.getInstanceByDom(el)?.dispose();
    const chart = echarts.init(el, isDark() ? "dark" : null, { renderer: "svg" });
    chart.setOption(option);
    el.dataset.drawn = "1";
  });
}

const resize = () => document.querySelectorAll("[data-chart]").forEach((el) => echarts.getInstanceByDom(el)?.resize());
window.addEventListener("resize", resize);
document.addEventListener("DOMContentLoaded", () => {
  renderCharts(document);
  followEvents();
  startLive(csrf);
});
document.addEventListener("htmx:afterSettle", (event) => renderCharts(event.target));

// --- small conveniences --------------------------------------------------------------------------------------
// "Select all" boxes in tables (bulk re-categorize).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll(all.dataset.selectAll).forEach((box) => (box.checked = all.checked));
});
// A file dropped anywhere on a drop zone goes into its file input.
document.addEventListener("dragover", (event) => {
  if (event.target.closest("[data-dropzone]")) event.preventDefault();
});
document.addEventListener("drop", (event) => {
  const zone = event.target.closest("[data-dropzone]");
  if (!zone) return;
  event.preventDefault();
  const input = zone.querySelector('input[type="file"]');
  input.files = event.dataTransfer.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
});
