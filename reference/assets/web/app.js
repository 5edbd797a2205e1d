// The page of `aigc-label serve`: send the dropped file to /v1/read (and /v1/check for images)
// and show the answer in Chinese and English. No framework, no build step, no network access
// other than this server (the Content-Security-Policy enforces it).
"use strict";

const VERDICTS = {
  valid: ["有效", "Valid", "文件携带一个符合附录E的隐式标识。", "The file carries one implicit label that meets Annex E."],
  invalid: ["无效", "Invalid", "文件携带隐式标识，但不符合附录E的强制要求。", "The file carries an implicit label, but it breaks a mandatory rule of Annex E."],
  conflict: ["冲突", "Conflict", "文件携带多个取值不同的隐式标识（6.1 c）。", "The file carries several labels with different values (6.1 c)."],
  unlabeled: ["未标识", "Unlabeled", "未找到隐式标识。", "No implicit label was found."],
};
const FIELDS = {
  Label: ["生成合成标签要素", "AI-generated label"],
  ContentProducer: ["生成合成服务提供者要素", "Content producer"],
  ProduceID: ["内容制作编号要素", "Produce ID"],
  ReservedCode1: ["预留字段1", "Reserved code 1 (producer)"],
  ContentPropagator: ["内容传播服务提供者要素", "Content propagator"],
  PropagateID: ["内容传播编号要素", "Propagate ID"],
  ReservedCode2: ["预留字段2", "Reserved code 2 (propagator)"],
};
const LABEL_VALUES = {
  "1": "属于AI生成合成内容 · is AI-generated",
  "2": "可能为AI生成合成内容 · possibly AI-generated",
  "3": "疑似为AI生成合成内容 · suspected AI-generated",
};
const OUTCOMES = { pass: ["符合", "pass"], fail: ["不符合", "fail"], unknown: ["无法判断", "unknown"] };
const SEVERITIES = { error: ["错误", "error"], warning: ["警告", "warning"], info: ["提示", "note"] };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function bilingual(zh, en) {
  return [zh, el("span", { class: "en" }, en)];
}

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

async function post(endpoint, file, extra) {
  const q = new URLSearchParams({ name: file.name, ...(extra || {}) });
  const r = await fetch(`${endpoint}?${q}`, { method: "POST", body: file, headers: { "content-type": "application/octet-stream" } });
  let body;
  try { body = await r.json(); } catch (_) { body = { error: { code: "bad_answer", message: `HTTP ${r.status}` } }; }
  return { ok: r.ok, status: r.status, body };
}

function errorText(answer) {
  const e = (answer.body && answer.body.error) || {};
  return `无法处理 · could not process (HTTP ${answer.status}, ${e.code || "?"}): ${e.message || ""}`;
}

function showProblems(problems, into) {
  if (!problems || !problems.length) return;
  const ul = el("ul", { class: "problems" });
  for (const p of problems) {
    const [zh, en] = SEVERITIES[p.severity] || [p.severity, p.severity];
    ul.append(el("li", { class: p.severity === "error" ? "error" : "" }, `${zh} ${en} · ${p.code}: ${p.message}`));
  }
  into.append(el("h3", {}, ...bilingual("问题", "Problems")), ul);
}

function showRead(report) {
  $("result").hidden = false;
  $("file-name").textContent = report.file;
  $("format").textContent = `${report.format} (${report.media})`;
  const [zh, en, zhText, enText] = VERDICTS[report.verdict] || [report.verdict, report.verdict, "", ""];
  const v = $("verdict");
  v.textContent = `${zh} ${en}`;
  v.className = `verdict-${report.verdict}`;
  v.dataset.verdict = report.verdict;
  $("verdict-text").replaceChildren(zhText, el("span", { class: "en" }, enText));
  const labels = $("labels");
  labels.replaceChildren();
  report.labels.forEach((l, i) => {
    const card = el("div", { class: "label-card" });
    card.append(el("h3", {}, `标识 ${i + 1} · label ${i + 1}: ${l.carrier} @ ${l.offset}`,
      el("span", { class: l.valid ? "outcome-pass" : "outcome-fail" }, l.valid ? " 有效 valid" : " 无效 invalid")));
    const table = el("table", { class: "fields" });
    table.append(el("tr", {}, el("th", {}, ...bilingual("字段", "Field")), el("th", {}, ...bilingual("值", "Value"))));
    for (const [k, value] of Object.entries(l.fields)) {
      const [fzh, fen] = FIELDS[k] || [k, ""];
      const shown = typeof value === "string" ? value : JSON.stringify(value);
      const cell = el("td", { "data-field": k }, el("code", {}, shown));
      if (k === "Label" && LABEL_VALUES[value]) cell.append(el("div", {}, LABEL_VALUES[value]));
      table.append(el("tr", {}, el("td", {}, `${k} `, el("span", { class: "en" }, `${fzh} · ${fen}`)), cell));
    }
    if (!Object.keys(l.fields).length) card.append(el("p", { class: "raw" }, l.raw));
    card.append(table);
    showProblems(l.problems, card);
    labels.append(card);
  });
  const problems = $("problems");
  problems.replaceChildren();
  showProblems(report.problems, problems);
}

function drawMeasurement(file, m) {
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.onload = () => {
    const canvas = $("overlay");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext("2d");
    g.drawImage(img, 0, 0);
    const line = Math.max(2, Math.round(Math.min(canvas.width, canvas.height) / 200));
    const font = Math.max(12, line * 6);
    g.font = `${font}px sans-serif`;
    g.lineWidth = line;
    // Captions stack above the label region, aligned to the side of the picture it is on.
    const anchor = m.region || m.ink;
    const rightSide = anchor && anchor.x + anchor.w / 2 > canvas.width / 2;
    let captionY = anchor ? anchor.y - line * 2 : 0;
    const box = (r, color, caption) => {
      if (!r) return;
      g.strokeStyle = color;
      g.strokeRect(r.x, r.y, r.w, r.h);
      g.fillStyle = color;
      g.textAlign = rightSide ? "right" : "left";
      const x = rightSide ? anchor.x + anchor.w : anchor.x;
      g.fillText(caption, x, Math.max(font, captionY));
      captionY -= font * 1.25;
    };
    const ratio = m.height_ratio != null ? ` ${(m.height_ratio * 100).toFixed(1)}%` : "";
    box(m.ink, "#1a73e8", `文字高度 text height${ratio}`);
    box(m.region, "#d93025", "标识区域 label region");
    canvas.dataset.region = m.region ? `${m.region.x},${m.region.y},${m.region.w},${m.region.h}` : "none";
    canvas.dataset.drawn = "true";
    $("picture").hidden = false;
    URL.revokeObjectURL(url);
  };
  img.src = url;
}

async function runCheck(file, media) {
  $("check-status").textContent = "测量中… measuring…";
  const answer = await post("/v1/check", file, media ? { media } : {});
  if (!answer.ok) {
    $("check-status").textContent = errorText(answer);
    $("check-status").className = "error";
    return;
  }
  const c = answer.body;
  $("check-status").textContent = `模态 modality: ${c.modality}`;
  $("check-status").className = "";
  const failed = c.verdict === "fail";
  const v = $("check-verdict");
  v.replaceChildren(failed ? "不符合第5章 · fails chapter 5" : "未发现不符合项 · no requirement failed");
  v.className = failed ? "outcome-fail" : "outcome-pass";
  v.dataset.verdict = c.verdict;
  const body = $("findings").querySelector("tbody");
  body.replaceChildren();
  for (const f of c.findings) {
    const [zh, en] = OUTCOMES[f.outcome] || [f.outcome, f.outcome];
    body.append(el("tr", {}, el("td", {}, f.requirement), el("td", { class: `outcome-${f.outcome}` }, `${zh} ${en}`), el("td", {}, f.detail)));
  }
  $("findings").hidden = false;
  if (c.modality === "image" && c.measurements) drawMeasurement(file, c.measurements);
}

async function handle(file) {
  if (!file) return;
  $("result").hidden = true;
  $("explicit").hidden = true;
  $("picture").hidden = true;
  $("findings").hidden = true;
  $("check-verdict").textContent = "";
  delete $("overlay").dataset.drawn;
  setStatus(`读取中… reading ${file.name} (${file.size} bytes)…`);
  let answer;
  try {
    answer = await post("/v1/read", file);
  } catch (e) {
    setStatus(`连接失败 · request failed: ${e}`, true);
    return;
  }
  if (!answer.ok) {
    setStatus(errorText(answer), true);
    return;
  }
  setStatus(`完成 · done: ${file.name}`);
  showRead(answer.body);
  $("explicit").hidden = false;
  const isImage = answer.body.media.startsWith("image/");
  const button = $("check-button");
  button.hidden = isImage;
  button.onclick = () => runCheck(file);
  $("check-status").textContent = "";
  if (isImage) await runCheck(file, "image");
  document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
}

window.addEventListener("DOMContentLoaded", () => {
  const drop = $("drop");
  const input = $("file");
  input.addEventListener("change", () => handle(input.files[0]));
  for (const ev of ["dragenter", "dragover"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const ev of ["dragleave", "drop"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  drop.addEventListener("drop", (e) => handle(e.dataTransfer.files[0]));
  document.body.dataset.ready = "true";
});
