// The page of `wuzhong-geo serve`. Plain JS, no build step. Everything that comes from user data
// reaches the page through textContent (the el() helper), never through innerHTML.
"use strict";

const state = { upload: null, options: {}, job: null, status: new Set(), level: new Set(),
                q: "", offset: 0, style: null, results: null, ask: null, selected: null };
const HEADERS = { "X-Wuzhong-Geo": "1" };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function text(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toLocaleString("zh-CN", { maximumFractionDigits: 2 });
  if (typeof value === "boolean") return value ? "是 yes" : "否 no";
  return String(value);
}

async function api(method, url, body) {
  const init = { method, headers: { ...HEADERS }, credentials: "same-origin" };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  const response = await fetch(url, init);
  let payload = null;
  try { payload = await response.json(); } catch (e) { payload = null; }
  if (!response.ok) throw new Error((payload && payload.error) || `HTTP ${response.status}`);
  return payload;
}

// ------------------------------------------------------------------ errors and progress

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
  $("progress").hidden = true;
}
function hideError() { $("error").hidden = true; }
function progress(label, value) {
  $("progress").hidden = false;
  $("progress-label").textContent = label;
  const bar = $("progress-bar");
  if (value === null) bar.removeAttribute("value"); else bar.value = value;
}

// ------------------------------------------------------------------ boundaries

function showBounds(info) {
  const node = $("bounds-text");
  node.textContent = `${info.zh} ${info.en}`;
  node.className = info.kind === "official" ? "bounds official" : "bounds";
  $("bounds-reset").hidden = info.kind !== "official";
}

async function uploadBoundaries(file) {
  hideError();
  try {
    progress(`上传镇界 / uploading ${file.name}`, 0);
    const result = await putFile(`/api/boundaries?name=${encodeURIComponent(file.name)}`, file,
                                 (f) => progress(`上传镇界 / uploading ${file.name}`, f));
    $("progress").hidden = true;
    showBounds(result.boundaries);
    await loadLayers();
  } catch (e) { showError(e.message); }
}

// ------------------------------------------------------------------ upload, inspect, check

function putFile(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("X-Wuzhong-Geo", "1");
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); };
    xhr.onload = () => {
      let payload = null;
      try { payload = JSON.parse(xhr.responseText); } catch (e) { payload = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(payload);
      else reject(new Error((payload && payload.error) || `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new Error("上传中断 / the upload was interrupted"));
    xhr.send(file);
  });
}

async function handleFiles(fileList) {
  const files = Array.from(fileList || []);  // a copy: the picker's live list is cleared next
  if (!files.length) return;
  hideError();
  $("ask").hidden = true;
  try {
    const { upload } = await api("POST", "/api/uploads");
    const total = files.reduce((s, f) => s + f.size, 0) || 1;
    let sent = 0;
    for (const file of files) {
      await putFile(`/api/uploads/${upload}/files?name=${encodeURIComponent(file.name)}`, file,
                    (f) => progress(`上传 / uploading ${file.name}`, (sent + f * file.size) / total));
      sent += file.size;
    }
    state.upload = upload;
    state.options = {};
    progress("读取文件 / reading the file…", null);
    const info = await api("POST", `/api/uploads/${upload}/inspect`, {});
    $("progress").hidden = true;
    if (info.needs.length) showAsk(info); else await startCheck({});
  } catch (e) { showError(e.message); }
}

function showAsk(info) {
  state.ask = info;
  $("ask-problem").textContent = [
    info.needs.includes("columns") ? `没有认出坐标列，请选择。No coordinate columns recognised: choose them. ${info.problem || ""}` : "",
    info.needs.includes("crs") ? "坐标系无法从列名判断：请确认是 WGS84、高德（GCJ-02）、百度（BD-09）还是 CGCS2000。The coordinates' flavour cannot be told from the file: please confirm." : "",
  ].filter(Boolean).join("\n");
  for (const [id, key] of [["ask-lon", "lon_col"], ["ask-lat", "lat_col"]]) {
    const select = $(id);
    select.replaceChildren(el("option", { value: "" }, "（自动 / detected）"),
      ...info.columns.map((c) => el("option", { value: c }, c)));
    select.value = info.detected[key] || "";
    select.disabled = !info.needs.includes("columns") && !info.detected[key];
  }
  $("ask-crs").value = "";
  const table = $("ask-table");
  table.replaceChildren(
    el("thead", {}, el("tr", {}, info.columns.map((c) => el("th", {}, c)))),
    el("tbody", {}, info.preview.map((row) => el("tr", {}, row.map((v) => el("td", {}, v))))));
  $("ask").hidden = false;
}

async function askGo() {
  const options = {};
  const lon = $("ask-lon").value, lat = $("ask-lat").value, crs = $("ask-crs").value;
  if (lon || lat) { options.lon_col = lon; options.lat_col = lat; }
  if (crs) options.crs = crs;
  if (state.ask && state.ask.needs.includes("columns") && !(lon && lat)) {
    showError("请选择经度列和纬度列 / choose the longitude and the latitude column");
    return;
  }
  $("ask").hidden = true;
  hideError();
  await startCheck(options);
}

async function startCheck(options) {
  state.options = options;
  try {
    let job = await api("POST", `/api/uploads/${state.upload}/check`, options);
    while (job.state === "running") {
      const label = job.total ? `核查 / checking: ${job.done.toLocaleString()} / ${job.total.toLocaleString()} 行 rows` : "核查 / checking…";
      progress(label, job.total ? job.done / job.total : null);
      await new Promise((r) => setTimeout(r, 250));
      job = await api("GET", `/api/jobs/${job.id}`);
    }
    $("progress").hidden = true;
    if (job.state === "error") { showError(job.error); return; }
    state.job = job;
    state.status.clear(); state.level.clear(); state.q = ""; state.offset = 0;
    $("search").value = "";
    showResults(job);
  } catch (e) { showError(e.message); }
}

// ------------------------------------------------------------------ results

function statusStyle(key) {
  const s = (state.style && state.style.status[key]) || null;
  return { label: s ? s.label : key, colour: s ? s.colour : (state.style ? state.style.status_unknown : "") };
}

function showResults(job) {
  const summary = job.summary;
  $("results").hidden = false;
  $("results-title").textContent = `核查结果 / Results — ${job.source}`;
  $("summary").textContent = `${summary.rows} 行 rows · ${job.seconds} 秒 s · ${job.boundaries.zh}`;
  $("downloads").replaceChildren(...summary.outputs.map((name) =>
    el("a", { class: "button small", href: `/api/jobs/${job.id}/files/${name}`, download: "", "data-file": name },
       `下载 / ${name}`)));
  const statusBox = $("status-filters");
  statusBox.replaceChildren(el("span", { class: "muted" }, "状态 status:"),
    ...Object.entries(summary.counts.status).map(([key, n]) => {
      const s = statusStyle(key);
      return el("button", { class: "chip", type: "button", "aria-pressed": "false", "data-status": key,
                            onclick: (ev) => toggle(state.status, key, ev.currentTarget) },
                el("span", { class: "dot", style: { background: s.colour } }), `${s.label} ${n}`);
    }));
  const levels = summary.counts.flag_level;
  const names = { ...LEVEL_NAMES, "": "无提示 none" };
  $("level-filters").replaceChildren(el("span", { class: "muted" }, "提示 flags:"),
    ...Object.entries(levels).map(([key, n]) =>
      el("button", { class: "chip", type: "button", "aria-pressed": "false", "data-level": key || "none",
                     onclick: (ev) => toggle(state.level, key || "none", ev.currentTarget) },
         `${names[key] || key} ${n}`)));
  loadRows();
  loadResultLayer();
}

function toggle(set, key, button) {
  if (set.has(key)) set.delete(key); else set.add(key);
  button.setAttribute("aria-pressed", set.has(key) ? "true" : "false");
  state.offset = 0;
  loadRows();
}

const LEVEL_NAMES = { warning: "警示 warning", note: "提示 note" };
const COLUMN_NAMES = { row_id: "行 row", status: "状态 status", site: "名称 site", name: "镇（街道） town",
                       functional_zone: "功能区 zone", flag_level: "提示 flag", message: "说明 message" };

async function loadRows() {
  const job = state.job;
  if (!job) return;
  const params = new URLSearchParams({ status: [...state.status].join(","), level: [...state.level].join(","),
                                       q: state.q, offset: String(state.offset) });
  try {
    const data = await api("GET", `/api/jobs/${job.id}/rows?${params}`);
    const table = $("table");
    const head = el("tr", {}, data.columns.map((c) => el("th", {}, COLUMN_NAMES[c] || c)));
    const body = data.rows.map((row) => {
      const cells = row.map((value, i) => {
        if (data.columns[i] === "flag_level") return el("td", {}, LEVEL_NAMES[value] || text(value));
        if (data.columns[i] === "status") {
          const s = statusStyle(value);
          return el("td", {}, el("span", { class: "status", style: { background: s.colour } }, s.label));
        }
        return el("td", {}, text(value));
      });
      const rowId = row[0];
      return el("tr", { "data-row": rowId, class: rowId === state.selected ? "selected" : null,
                        onclick: () => openRow(rowId) }, cells);
    });
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
    const end = Math.min(data.offset + data.page, data.total);
    const pager = $("pager");
    pager.replaceChildren(
      el("span", { id: "shown" }, `${data.total ? data.offset + 1 : 0}–${end} / ${data.total}（共 ${data.all} 行 of ${data.all} rows）`),
      el("button", { class: "small", type: "button", disabled: data.offset === 0,
                     onclick: () => { state.offset = Math.max(0, data.offset - data.page); loadRows(); } }, "‹ 上一页"),
      el("button", { class: "small", type: "button", disabled: end >= data.total,
                     onclick: () => { state.offset = data.offset + data.page; loadRows(); } }, "下一页 ›"));
  } catch (e) { showError(e.message); }
}

function fieldList(fields) {
  const dl = el("dl");
  for (const f of fields) {
    if (f.value === null || f.value === "" || f.value === undefined) continue;
    const value = /plan_quote|passage/.test(f.column)
      ? el("blockquote", {}, text(f.value)) : text(f.value);
    dl.append(el("dt", { title: `${f.column}: ${f.description || ""}` }, f.label), el("dd", {}, value));
  }
  return dl;
}

function openPanel(title, boundaries, children) {
  $("panel-title").textContent = title;
  $("panel-bounds").textContent = boundaries ? `${boundaries.zh} ${boundaries.en}` : "";
  $("panel-bounds").className = boundaries && boundaries.kind === "official" ? "bounds official" : "bounds";
  $("panel-body").replaceChildren(...children);
  $("panel").hidden = false;
}

// The panel covers the map's right edge: what the map zooms to is kept left of it.
function showOnMap(bounds, maxZoom) {
  const width = $("panel").hidden ? 0 : $("panel").offsetWidth;
  map.fitBounds(bounds, { paddingTopLeft: [20, 20], paddingBottomRight: [width + 20, 20], maxZoom });
}

async function openRow(rowId) {
  try {
    const data = await api("GET", `/api/jobs/${state.job.id}/rows/${rowId}`);
    state.selected = rowId;
    for (const tr of document.querySelectorAll("#table tbody tr"))
      tr.classList.toggle("selected", Number(tr.dataset.row) === rowId);
    const get = (c) => (data.fields.find((f) => f.column === c) || {}).value;
    const s = statusStyle(get("status"));
    const name = state.job.summary.input.name_col ? get(state.job.summary.input.name_col) : null;
    openPanel(`第 ${rowId} 行 / row ${rowId}${name ? " · " + name : ""}`, data.boundaries, [
      el("div", { class: "answer" }, el("span", { class: "status", style: { background: s.colour } }, s.label), " ",
         text(get("message"))),
      fieldList(data.fields.filter((f) => !["status", "message"].includes(f.column))),
    ]);
    zoomToRow(rowId);
  } catch (e) { showError(e.message); }
}

// ------------------------------------------------------------------ map

let map = null;
const overlays = {};
let resultLayer = null;
let whereMarker = null;

function tooltip(layer, label) {
  layer.bindTooltip(() => el("span", {}, label), { sticky: true });
}

function initMap() {
  map = L.map("map", { zoomSnap: 0.25, minZoom: 7, maxZoom: 18 }).setView([31.2, 120.55], 10);
  L.control.scale({ imperial: false }).addTo(map);
  map.createPane("wz-sites").style.zIndex = 450;
  map.on("click", (ev) => askPlace(ev.latlng.lng, ev.latlng.lat, ""));
  state.layerControl = L.control.layers(null, null, { collapsed: false, position: "topright" }).addTo(map);
}

function geoLayer(data, options) {
  return L.geoJSON(data, options);
}

async function loadLayers() {
  const data = await api("GET", "/api/layers");
  state.style = data.style;
  const st = data.style;
  for (const layer of Object.values(overlays)) { map.removeLayer(layer); state.layerControl.removeLayer(layer); }
  const townColour = {};
  data.towns.features.map((f) => f.properties.code).sort().forEach((c, i) => { townColour[c] = st.town_colours[i % st.town_colours.length]; });
  const defs = [
    ["taihu", "太湖水域", true, { style: () => ({ color: st.water_edge, weight: 1, fillColor: st.water, fillOpacity: 0.8 }) }],
    ["towns", "镇（街道）", true, { style: (f) => ({ color: st.town_edge, weight: 1, fillColor: townColour[f.properties.code], fillOpacity: 0.45 }),
                                 onEachFeature: (f, l) => tooltip(l, f.properties.name) }],
    ["functional_zones", "功能区（核·轴·带）", false, { style: (f) => ({ color: st.zones[f.properties.zone], weight: 2, fillColor: st.zones[f.properties.zone], fillOpacity: 0.35 }),
                                 onEachFeature: (f, l) => tooltip(l, f.properties.zone) }],
    ["subregions", "片区（东·中·西）", false, { style: (f) => ({ color: st.subregions[f.properties.subregion], weight: 2, fillColor: st.subregions[f.properties.subregion], fillOpacity: 0.3 }),
                                 onEachFeature: (f, l) => tooltip(l, f.properties.subregion) }],
    ["management_zones", "管理主体", false, { style: (f) => ({ color: st.management_zones[f.properties.name], weight: 2, fillColor: st.management_zones[f.properties.name], fillOpacity: 0.3 }),
                                 onEachFeature: (f, l) => tooltip(l, f.properties.name) }],
    ["district", "吴中区界", true, { style: () => ({ color: st.district_edge, weight: 2.5, fill: false }), interactive: false }],
    ["infrastructure", "重大基础设施", true, {
      style: (f) => { const k = st.infrastructure[f.properties.kind] || {}; return { color: k.colour, weight: Math.max(1.5, (k.width || 1) * 1.5) }; },
      pointToLayer: (f, ll) => { const k = st.infrastructure[f.properties.kind] || {}; return L.circleMarker(ll, { radius: 3.5, color: st.halo, weight: 1, fillColor: k.colour, fillOpacity: 1 }); },
      onEachFeature: (f, l) => tooltip(l, `${f.properties.name}（${(st.infrastructure[f.properties.kind] || {}).label || f.properties.kind}）`) }],
    ["policy_areas", "规划政策区（生态·文化·产业）", false, {
      style: (f) => { const k = st.policies[f.properties.kind] || {}; return { color: k.colour, weight: 1.5, fillColor: k.colour, fillOpacity: st.policy_alpha }; },
      onEachFeature: (f, l) => tooltip(l, `${f.properties.name}（${(st.policies[f.properties.kind] || {}).label || f.properties.kind}）· ${f.properties.plan_ref || ""} · 精度约 ${f.properties.geometry_accuracy_m} 米`) }],
    ["places", "规划地点与项目", false, {
      pointToLayer: (f, ll) => { const k = st.places[f.properties.category] || {}; return L.circleMarker(ll, { radius: 4, color: st.halo, weight: 1, fillColor: k.colour, fillOpacity: 1 }); },
      onEachFeature: (f, l) => tooltip(l, f.properties.name) }],
  ];
  for (const [key, title, on, options] of defs) {
    const layer = geoLayer(data[key], options);
    overlays[key] = layer;
    state.layerControl.addOverlay(layer, title);
    if (on) layer.addTo(map);
  }
  map.fitBounds(overlays.district.getBounds(), { padding: [10, 10] });
  if (resultLayer) resultLayer.bringToFront();
}

function siteStyle(feature, selected) {
  const colour = statusStyle(feature.properties.status).colour;
  const edge = selected ? state.style.selected : null;
  if (feature.geometry && feature.geometry.type === "Point")
    return { color: edge || state.style.halo, weight: selected ? 3 : 1.5, fillColor: colour, fillOpacity: 0.95 };
  return { color: edge || colour, weight: selected ? 3.5 : 2, fillColor: colour, fillOpacity: 0.4 };
}

async function loadResultLayer() {
  const response = await fetch(`/api/jobs/${state.job.id}/geojson`, { credentials: "same-origin" });
  const data = await response.json();
  if (resultLayer) { map.removeLayer(resultLayer); state.layerControl.removeLayer(resultLayer); }
  resultLayer = L.geoJSON(data, {
    pane: "wz-sites",
    style: (f) => siteStyle(f, false),
    pointToLayer: (f, ll) => L.circleMarker(ll, { pane: "wz-sites", radius: 6 }),
    onEachFeature: (f, l) => {
      tooltip(l, `第 ${f.properties.row_id} 行 · ${statusStyle(f.properties.status).label}`);
      l.on("click", (ev) => { L.DomEvent.stopPropagation(ev); openRow(f.properties.row_id); });
    },
  }).addTo(map);
  state.layerControl.addOverlay(resultLayer, "选址核查结果");
  if (data.features.length) showOnMap(resultLayer.getBounds(), 13);
}

function zoomToRow(rowId) {
  if (!resultLayer) return;
  resultLayer.eachLayer((l) => {
    const hit = l.feature.properties.row_id === rowId;
    l.setStyle(siteStyle(l.feature, hit));
    if (!hit) return;
    l.bringToFront();
    if (l.getLatLng) showOnMap(L.latLngBounds([l.getLatLng(), l.getLatLng()]), Math.max(map.getZoom(), 12));
    else showOnMap(l.getBounds(), 15);
  });
}

// ------------------------------------------------------------------ ask a place

function citationList(citations) {
  if (!citations || !citations.length) return null;
  return el("div", {}, el("h3", {}, "规划原文 / Plan passages"),
    citations.map((c) => el("blockquote", {}, el("div", { class: "muted" }, text(c.plan_ref)), text(c.plan_quote))));
}

async function askPlace(lon, lat, crs) {
  hideError();
  try {
    const data = await api("POST", "/api/where", { lon, lat, crs });
    if (whereMarker) map.removeLayer(whereMarker);
    if (data.point)
      whereMarker = L.circleMarker([data.point[1], data.point[0]], { radius: 8, color: state.style.selected, weight: 3, fillOpacity: 0 }).addTo(map);
    const s = statusStyle(data.status);
    const asked = data.name ? data.name : `${text(lon)}, ${text(lat)}${crs ? " (" + crs + ")" : ""}`;
    openPanel(`问一个地点 / Ask a place: ${asked}`, data.boundaries, [
      el("div", { class: "answer" }, data.status ? el("span", { class: "status", style: { background: s.colour } }, s.label) : null, " ",
         text(data.headline)),
      data.lines.length ? el("div", { class: "where-lines" }, data.lines.map((line) => el("div", {}, line))) : null,
      citationList(data.citations),
      fieldList(data.fields.filter((f) => !["status", "message"].includes(f.column))),
    ]);
  } catch (e) { showError(e.message); }
}

// ------------------------------------------------------------------ wiring

function wire() {
  const drop = $("drop");
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => { ev.preventDefault(); drop.classList.remove("over"); handleFiles(ev.dataTransfer.files); });
  drop.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") $("file-input").click(); });
  document.addEventListener("dragover", (ev) => ev.preventDefault());
  document.addEventListener("drop", (ev) => ev.preventDefault());
  $("file-input").addEventListener("change", (ev) => { handleFiles(ev.target.files); ev.target.value = ""; });
  $("bounds-input").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    ev.target.value = "";
    if (file) uploadBoundaries(file);
  });
  $("bounds-reset").addEventListener("click", async () => {
    try { showBounds((await api("DELETE", "/api/boundaries")).boundaries); await loadLayers(); } catch (e) { showError(e.message); }
  });
  $("end-session").addEventListener("click", async () => {
    try { await api("DELETE", "/api/session"); } catch (e) { /* the session is gone either way */ }
    location.reload();
  });
  $("error-close").addEventListener("click", hideError);
  $("ask-go").addEventListener("click", askGo);
  $("ask-cancel").addEventListener("click", () => { $("ask").hidden = true; });
  $("panel-close").addEventListener("click", () => { $("panel").hidden = true; });
  let timer = null;
  $("search").addEventListener("input", (ev) => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = ev.target.value; state.offset = 0; loadRows(); }, 200);
  });
  $("where-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    askPlace($("where-lon").value.trim(), $("where-lat").value.trim(), $("where-crs").value);
  });
}

async function start() {
  wire();
  initMap();
  try {
    const info = await api("GET", "/api/session");
    showBounds(info.boundaries);
    await loadLayers();
  } catch (e) { showError(e.message); }
  document.body.dataset.ready = "1";
  setInterval(() => { api("GET", "/api/session").catch(() => {}); }, 60000);  // keeps the session alive
}

start();
