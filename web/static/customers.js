// The customers page: who ordered how much, who returned orders (bom hàng), the blacklist.
"use strict";
const people = { items: [], next: null, open: null, history: {} };
const $ = (id) => document.getElementById(id);

function row(c) {
  const black = c.blacklisted ? `<span class="badge bad">⛔ ${esc(T("blacklisted"))}</span> <span class="muted">${esc(c.blacklist_reason || "")}</span>` : "";
  const returned = c.returned ? `<span class="badge bad">⚠ ${c.returned}</span>` : "0";
  const action = may("blacklist") && (c.phones || []).length
    ? `<button type="button" class="${c.blacklisted ? "" : "danger"}" data-black="${c.blacklisted ? "0" : "1"}" data-phone="${esc(c.phones[0])}">${esc(T(c.blacklisted ? "unblacklist" : "blacklist"))}</button>`
    : "";
  const open = people.open === c.customer_id;
  return `<tr data-customer="${esc(c.customer_id)}"><td><a href="#" class="toggle" data-customer="${esc(c.customer_id)}"><b>${esc(c.name || c.customer_id)}</b></a> <span class="muted">${esc(c.customer_id)}</span></td>
    <td>${esc((c.phones || []).join(", "))}</td><td class="num">${(c.orders || []).length}</td><td class="num">${returned}</td>
    <td>${esc(c.owner || "")}</td><td>${black}</td><td class="actions">${action}</td></tr>
    ${open ? `<tr class="details"><td colspan="7">${historyOf(c.customer_id)}</td></tr>` : ""}`;
}

function historyOf(id) {
  const orders = people.history[id];
  if (!orders) return esc(T("loading"));
  return `<ul>${orders.map((o) => `<li><b>${esc(o.order_id)}</b> · ${esc(statusInfo(o.status).name)} · ${vnd(o.total)} · ${esc(o.finalised_at || "")}</li>`).join("") || esc(T("none"))}</ul>`;
}

function render() {
  $("rows").innerHTML = people.items.map(row).join("") || `<tr><td colspan="7" class="muted">${esc(T("none"))}</td></tr>`;
  $("more").hidden = people.next == null;
}

async function load(append = false) {
  const params = new URLSearchParams({ limit: "200", cursor: String(append ? people.next : 0) });
  if ($("q").value) params.set("q", $("q").value);
  if ($("f-black").checked) params.set("blacklisted", "true");
  const page = await api("GET", "/customers?" + params);
  people.items = append ? people.items.concat(page.items) : page.items;
  people.next = page.next_cursor;
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  let typing;
  $("q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => load(), 200); });
  $("f-black").addEventListener("change", () => load());
  $("more").addEventListener("click", () => load(true));
  $("rows").addEventListener("click", async (event) => {
    const toggle = event.target.closest(".toggle");
    if (toggle) {
      event.preventDefault();
      const id = toggle.dataset.customer;
      people.open = people.open === id ? null : id;
      render();
      if (people.open && !people.history[id]) {
        people.history[id] = (await api("GET", "/customers/" + encodeURIComponent(id))).order_history;
        render();
      }
    }
    const button = event.target.closest("[data-black]");
    if (button) {
      const blacklisted = button.dataset.black === "1";
      const reason = blacklisted ? prompt(T("reason"), "bom hàng") : null;
      if (blacklisted && reason === null) return;
      try {
        await api("POST", "/customers/blacklist", { phone: button.dataset.phone, blacklisted, reason: reason || undefined });
        toast(T("applied"));
        await load();
      } catch (error) {
        toast(error.message, "error");
      }
    }
  });
  load().catch((error) => toast(error.message, "error"));
});
