// The orders page: the shop's statuses and colours, filters, single and bulk status moves,
// merging, and printing slips and labels for the orders selected.
"use strict";
const state = { items: [], next: null, selected: new Set(), open: null };
const $ = (id) => document.getElementById(id);

function query(cursor = 0) {
  const params = new URLSearchParams({ limit: "200", cursor: String(cursor) });
  for (const [id, name] of [["q", "q"], ["f-status", "status"], ["f-live", "livestream"], ["f-staff", "staff"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  return "/orders?" + params;
}

function statusBadge(key) {
  const s = statusInfo(key);
  return `<span class="badge" style="background:${esc(s.color)}22;color:${esc(s.color)}"><span class="status-dot" style="background:${esc(s.color)}"></span>${esc(s.name)}</span>`;
}

function row(o) {
  const c = o.customer || {};
  const staff = (o.staff && (o.staff.assigned || o.staff.finalised_by)) || "";
  const lines = (o.lines || []).map((l) => `${esc(l.code || l.name)} ×${l.qty}`).join(", ");
  const merged = o.merged_into ? ` <span class="muted">→ ${esc(o.merged_into)}</span>` : "";
  const moves = statusInfo(o.status).to || [];
  const quick = may("change_status") && !o.merged_into
    ? moves.map((to) => `<button type="button" class="link" data-move="${esc(to)}" data-order="${esc(o.order_id)}">${esc(statusInfo(to).name)}</button>`).join(" · ")
    : "";
  return `<tr data-order="${esc(o.order_id)}">
    <td><input type="checkbox" class="pick" value="${esc(o.order_id)}" ${state.selected.has(o.order_id) ? "checked" : ""} aria-label="${esc(o.order_id)}"></td>
    <td><a href="#" class="toggle" data-order="${esc(o.order_id)}"><b>${esc(o.order_id)}</b></a></td>
    <td>${statusBadge(o.status)}${merged}<br><span class="quick">${quick}</span></td>
    <td>${esc(c.name)}<br><span class="muted">${esc(c.phone)}</span></td>
    <td>${esc(c.province || "")}</td><td>${lines}</td><td class="num">${vnd(o.total)}</td><td>${esc(staff)}</td></tr>
    ${state.open === o.order_id ? details(o) : ""}`;
}

function details(o) {
  const history = (o.history || []).map((h) => `<li>${esc(h.at)} · ${esc(h.from || "—")} → ${esc(h.to)} · ${esc(h.staff || "")}</li>`).join("");
  const c = o.customer || {};
  return `<tr class="details"><td></td><td colspan="7">
    <p>${esc([c.address, c.ward, c.province].filter(Boolean).join(", "))} ${c.note ? "· " + esc(c.note) : ""}</p>
    <ul>${(o.lines || []).map((l) => `<li>${esc(l.code || "")} ${esc(l.name)} ${esc(Object.values(l.attributes || {}).join(" "))} ×${l.qty} · ${vnd(l.amount)}</li>`).join("")}</ul>
    <p class="muted">${esc(T("history"))}</p><ul>${history}</ul>
    <p><a class="button" href="/print?kind=slip&ids=${encodeURIComponent(o.order_id)}" target="_blank">${esc(T("print_slips"))}</a>
       <a class="button" href="/print?kind=label&ids=${encodeURIComponent(o.order_id)}" target="_blank">${esc(T("print_labels"))}</a></p>
  </td></tr>`;
}

function render() {
  $("rows").innerHTML = state.items.map(row).join("") || `<tr><td colspan="8" class="muted">${esc(T("none"))}</td></tr>`;
  $("more").hidden = state.next == null;
  const n = state.selected.size;
  $("bulk").hidden = n === 0;
  $("n-selected").textContent = n;
  const ids = [...state.selected].map((id) => "ids=" + encodeURIComponent(id)).join("&");
  $("pdf-slips").href = "/api/v1/print/orders.pdf?kind=slip&" + ids;
}

async function load(append = false) {
  const page = await api("GET", query(append ? state.next : 0));
  state.items = append ? state.items.concat(page.items) : page.items;
  state.next = page.next_cursor;
  render();
}

function showReasons(reasons) {
  const list = $("reasons");
  list.innerHTML = reasons.map((r) => `<li data-code="${esc(r.code)}">${esc(reasonText(r))}</li>`).join("");
  list.hidden = reasons.length === 0;
}

async function move(ids, to) {
  showReasons([]);
  try {
    await api("POST", "/orders/status", { order_ids: ids, to });
    toast(`${T("applied")}: ${ids.length} → ${statusInfo(to).name}`);
    state.selected.clear();
    await load();
  } catch (error) {
    if (error.reasons) showReasons(error.reasons);
    toast(error.message, "error");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  let typing;
  $("q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => load(), 200); });
  for (const id of ["f-status", "f-live", "f-staff"]) $(id).addEventListener("change", () => load());
  $("more").addEventListener("click", () => load(true));
  $("all").addEventListener("change", (event) => {
    for (const o of state.items) event.target.checked ? state.selected.add(o.order_id) : state.selected.delete(o.order_id);
    render();
  });
  $("rows").addEventListener("change", (event) => {
    if (!event.target.classList.contains("pick")) return;
    event.target.checked ? state.selected.add(event.target.value) : state.selected.delete(event.target.value);
    render();
  });
  $("rows").addEventListener("click", (event) => {
    const toggle = event.target.closest(".toggle");
    if (toggle) {
      event.preventDefault();
      state.open = state.open === toggle.dataset.order ? null : toggle.dataset.order;
      render();
    }
    const quick = event.target.closest("[data-move]");
    if (quick) move([quick.dataset.order], quick.dataset.move);
  });
  $("bulk-move")?.addEventListener("click", () => move([...state.selected], $("bulk-to").value));
  $("bulk-merge")?.addEventListener("click", async () => {
    showReasons([]);
    try {
      const result = await api("POST", "/orders/merge", { order_ids: [...state.selected] });
      toast(`${T("merge")}: ${(result.outcome.orders || []).map((o) => o.order_id).join(", ")}`);
      state.selected.clear();
      await load();
    } catch (error) {
      if (error.reasons) showReasons(error.reasons);
      toast(error.message, "error");
    }
  });
  const print = (kind) => window.open(`/print?kind=${kind}&` + [...state.selected].map((id) => "ids=" + encodeURIComponent(id)).join("&"), "_blank");
  $("print-slips").addEventListener("click", () => print("slip"));
  $("print-labels").addEventListener("click", () => print("label"));
  load().catch((error) => toast(error.message, "error"));
});
