// The livestream board: numbered drafts in comment order, changing live (server-sent events),
// filters, the draft editor beside it, and keyboard shortcuts for staff who finish hundreds.
"use strict";

const board = {
  livestream: document.querySelector(".board")?.dataset.livestream,
  drafts: new Map(), // seq -> draft
  order: [], // the seqs shown, ascending
  selected: null,
  products: [],
  seen: {}, // seq -> Date.now() when its row first showed (the browser test reads it)
};
window.chotdonBoard = board;

const $ = (id) => document.getElementById(id);
const filters = () => ({
  q: $("q").value.trim().toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d"),
  status: $("f-status").value,
  staff: $("f-staff").value,
  attention: $("f-attention").checked,
});

const needsAttention = (d) => d.status === "open" && (d.lines || []).some((l) => l.status === "unknown_code" || l.status === "needs_variant");
const folded = (text) => String(text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");

function shown(d, f) {
  if (f.status && d.status !== f.status) return false;
  if (f.staff && d.staff !== f.staff) return false;
  if (f.attention && !needsAttention(d)) return false;
  if (f.q) {
    const c = d.customer || {};
    const k = d.contact || {};
    if (!folded(`${d.seq} ${c.name} ${c.phone} ${c.user_id} ${k.name} ${k.phone}`).includes(f.q)) return false;
  }
  return true;
}

function lineChip(line) {
  const attrs = Object.values(line.attributes || {}).join(" ");
  let cls = "chip";
  let extra = "";
  if (line.status === "unknown_code") { cls += " warn"; extra = ` · ${T("unknown_code")}`; }
  else if (line.status === "needs_variant") { cls += " info"; extra = ` · ${T("needs_variant")}`; }
  else if (line.status === "custom") cls += " custom";
  if (line.waitlist != null) { cls += " wait"; extra += ` · ${T("waitlist")} #${line.waitlist}`; }
  return `<span class="${cls}">${esc(line.code || line.name)} ${esc(attrs)} ×${line.qty}${esc(extra)}</span>`;
}

function rowHtml(d) {
  const c = d.customer || {};
  const k = d.contact || {};
  const warnings = (d.warnings || []).map((w) => `<span class="badge bad" title="${esc(BOOT.lang === "en" ? w.en : w.vi)}">${w.code === "blacklisted" ? "⛔ " + esc(T("blacklisted")) : "⚠ " + esc(T("returned")) + " " + (w.count || "")}</span>`).join(" ");
  const classes = [`status-${d.status}`, needsAttention(d) ? "attention" : "", board.selected === d.seq ? "sel" : ""].join(" ");
  const status = d.status === "finalised" ? `${T("finalised")} ${esc(d.order_id || "")}` : T(d.status);
  return `<div id="d-${d.seq}" data-seq="${d.seq}" data-version="${d.version}" class="drow ${classes}" role="row">
    <span class="num seq" role="cell">${d.seq}</span>
    <span class="cust" role="cell"><b>${esc(k.name || c.name || c.user_id)}</b> ${warnings}<br><span class="muted">${esc(k.phone || c.phone || "")}</span></span>
    <span class="items" role="cell">${(d.lines || []).map(lineChip).join(" ")}</span>
    <span class="num" role="cell">${vnd(d.total)}</span>
    <span role="cell"><span class="badge status-${d.status}">${esc(status)}</span></span>
    <span role="cell">${esc(d.staff || "")}</span></div>`;
}

// Rows are grid rows with `content-visibility: auto`: the browser lays out and paints only those
// on screen, so a board of thousands renders in one go and stays fast to update.
function renderAll() {
  const f = filters();
  const seqs = [...board.drafts.keys()].sort((a, b) => a - b).filter((s) => shown(board.drafts.get(s), f));
  board.order = seqs;
  $("rows").innerHTML = seqs.length
    ? seqs.map((s) => rowHtml(board.drafts.get(s))).join("")
    : `<div class="drow empty"><span class="muted">${esc(T("no_drafts"))}</span></div>`;
  const now = Date.now();
  for (const s of seqs) if (!(s in board.seen)) board.seen[s] = now;
  board.complete = true;
  renderCounts();
}

function renderCounts() {
  let open = 0, attention = 0, finalised = 0;
  for (const d of board.drafts.values()) {
    if (d.status === "open") open += 1;
    if (d.status === "finalised") finalised += 1;
    if (needsAttention(d)) attention += 1;
  }
  $("counts").innerHTML = `<span><b>${board.drafts.size}</b> ${esc(T("drafts"))}</span>
    <span>${esc(T("open"))} <b>${open}</b></span>
    <span class="attention-count">${esc(T("attention"))} <b>${attention}</b></span>
    <span>${esc(T("finalised"))} <b>${finalised}</b></span>`;
}

// One draft changed: its row replaced, added in number order, or removed when filtered out.
function upsert(d) {
  board.drafts.set(d.seq, d);
  const row = $(`d-${d.seq}`);
  const visible = shown(d, filters());
  if (row && visible) {
    row.outerHTML = rowHtml(d);
  } else if (row) {
    row.remove();
    board.order = board.order.filter((s) => s !== d.seq);
  } else if (visible) {
    const index = board.order.findIndex((s) => s > d.seq);
    const html = rowHtml(d);
    $("rows").querySelector(".empty")?.remove();
    if (index === -1) {
      $("rows").insertAdjacentHTML("beforeend", html);
      board.order.push(d.seq);
    } else {
      $(`d-${board.order[index]}`).insertAdjacentHTML("beforebegin", html);
      board.order.splice(index, 0, d.seq);
    }
    $(`d-${d.seq}`).classList.add("fresh");
  }
  if (visible && !(d.seq in board.seen)) board.seen[d.seq] = Date.now();
}

function select(seq, scroll = true) {
  $(`d-${board.selected}`)?.classList.remove("sel");
  board.selected = seq;
  const row = $(`d-${seq}`);
  row?.classList.add("sel");
  if (row && scroll) row.scrollIntoView({ block: "nearest" });
}

function move(step) {
  if (!board.order.length) return;
  const at = board.order.indexOf(board.selected);
  const next = at === -1 ? 0 : Math.min(board.order.length - 1, Math.max(0, at + step));
  select(board.order[next]);
  if (editor.open) openDraft(board.order[next]);
}

function nextAttention() {
  const start = board.order.indexOf(board.selected);
  for (let i = 1; i <= board.order.length; i += 1) {
    const seq = board.order[(start + i) % board.order.length];
    if (needsAttention(board.drafts.get(seq))) return openDraft(seq);
  }
}

function openDraft(seq) {
  const d = board.drafts.get(seq);
  if (!d) return;
  select(seq);
  editor.show(d);
}

const editor = new DraftEditor($("editor"), {
  path: (d) => `/livestreams/${encodeURIComponent(board.livestream)}/drafts/${d.seq}`,
  title: (d) => `#${d.seq} · ${(d.contact && d.contact.name) || d.customer.name || d.customer.user_id}`,
  provinces: BOOT.provinces,
  products: [],
  onUpdated: (d) => upsert({ ...board.drafts.get(d.seq), ...d, warnings: d.warnings || board.drafts.get(d.seq)?.warnings || [] }),
  onClose: () => document.querySelector(".board").classList.remove("editing"),
});

function connect(since) {
  const url = `/api/v1/livestreams/${encodeURIComponent(board.livestream)}/events?since=${encodeURIComponent(since)}`;
  const source = new EventSource(url);
  source.addEventListener("open", () => setConnected(true));
  source.addEventListener("error", () => setConnected(false));
  source.addEventListener("changes", (event) => {
    const { drafts } = JSON.parse(event.data);
    for (const d of drafts) {
      upsert(d);
      editor.update(d);
    }
    renderCounts();
  });
  source.addEventListener("resync", () => {
    source.close();
    load();
  });
  board.source = source;
}

function setConnected(on) {
  const conn = $("conn");
  conn.className = "conn " + (on ? "on" : "off");
  conn.textContent = on ? T("live_on") : T("live_off");
}

async function load() {
  const started = performance.now();
  const [page, live] = await Promise.all([
    api("GET", `/livestreams/${encodeURIComponent(board.livestream)}/drafts?limit=5000`),
    api("GET", `/livestreams/${encodeURIComponent(board.livestream)}`),
  ]);
  board.drafts = new Map(page.items.map((d) => [d.seq, d]));
  board.products = live.products;
  editor.options.products = live.products;
  $("live-badge").textContent = page.open ? T("running") : T("stopped");
  $("live-badge").className = "badge " + (page.open ? "on" : "");
  renderAll();
  board.loadedIn = performance.now() - started;
  document.body.dataset.loaded = "1";
  connect(page.events_from);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const id of ["f-status", "f-staff", "f-attention"]) $(id).addEventListener("change", renderAll);
  let typing;
  $("q").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(renderAll, 120);
  });
  $("rows").addEventListener("click", (event) => {
    const row = event.target.closest(".drow[data-seq]");
    if (row) openDraft(Number(row.dataset.seq));
  });
  $("help-btn").addEventListener("click", () => $("help").showModal());
  document.addEventListener("keydown", (event) => {
    const inField = event.target.closest("input, select, textarea");
    if (event.key === "Escape") {
      if (inField) event.target.blur();
      else if (editor.open) editor.close();
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && editor.open) {
      event.preventDefault();
      editor.finalise("create");
      return;
    }
    if (inField || event.altKey || event.ctrlKey || event.metaKey) return;
    const keys = {
      j: () => move(1), ArrowDown: () => move(1), k: () => move(-1), ArrowUp: () => move(-1),
      Enter: () => board.selected != null && openDraft(board.selected),
      "/": () => $("q").focus(),
      a: () => { $("f-attention").checked = !$("f-attention").checked; renderAll(); },
      n: () => nextAttention(),
      "?": () => $("help").showModal(),
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });
  load().catch((error) => toast(error.message, "error"));
});
