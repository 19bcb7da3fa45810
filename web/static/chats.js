// Chat orders: start a sale or an upsell in a conversation, edit it with the draft editor,
// finish it, or pick up what a crash left unfinished.
"use strict";
const $ = (id) => document.getElementById(id);
let chatEditor;

function lineText(d) {
  return (d.lines || []).map((l) => `${esc(l.code || l.name)} ×${l.qty}`).join(", ");
}

async function loadResume() {
  const page = await api("GET", "/chats/resume");
  $("resume").innerHTML = page.items.map((d) => `<tr data-conversation="${esc(d.conversation_id)}">
      <td><b>${esc(d.conversation_id)}</b> <span class="muted">${esc(d.mode || "")}</span></td>
      <td>${esc((d.contact && d.contact.name) || (d.customer && d.customer.name) || "")}</td>
      <td>${lineText(d)}</td><td class="num">${vnd(d.total)}</td>
      <td class="actions"><button type="button" class="primary" data-resume="${esc(d.conversation_id)}">${esc(T("resume"))}</button>
        <button type="button" class="danger" data-discard="${esc(d.conversation_id)}">${esc(T("discard"))}</button></td></tr>`).join("")
    || `<tr><td colspan="5" class="muted">${esc(T("none"))}</td></tr>`;
}

async function openChat(conversation) {
  chatEditor.show(await api("GET", "/chats/" + encodeURIComponent(conversation)));
}

document.addEventListener("DOMContentLoaded", () => {
  chatEditor = new DraftEditor($("editor"), {
    path: (d) => "/chats/" + encodeURIComponent(d.conversation_id),
    title: (d) => `${T("conversation")} ${d.conversation_id}`,
    products: BOOT.products,
    provinces: BOOT.provinces,
    onUpdated: () => loadResume(),
  });
  $("start-chat").addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(event.target).entries());
    for (const key of Object.keys(values)) if (!values[key]) delete values[key];
    $("reasons").hidden = true;
    try {
      const result = await api("POST", "/chats", values);
      const previous = result.outcome.previous_orders || [];
      $("previous").innerHTML = previous.length
        ? `<h3>${esc(T("previous_orders"))}</h3><ul>${previous.map((o) => `<li><b>${esc(o.order_id)}</b> · ${esc(statusInfo(o.status).name)} · ${vnd(o.total)}</li>`).join("")}</ul>`
        : "";
      chatEditor.show(result.draft);
      await loadResume();
    } catch (error) {
      $("reasons").innerHTML = error.reasons.map((r) => `<li>${esc(reasonText(r))}</li>`).join("");
      $("reasons").hidden = false;
    }
  });
  $("resume").addEventListener("click", async (event) => {
    const resume = event.target.closest("[data-resume]");
    if (resume) await openChat(resume.dataset.resume);
    const discard = event.target.closest("[data-discard]");
    if (discard && confirm(T("discard") + "?")) {
      await api("POST", `/chats/${encodeURIComponent(discard.dataset.discard)}/discard`, {});
      if (chatEditor.open) chatEditor.close();
      await loadResume();
    }
  });
  loadResume().catch((error) => toast(error.message, "error"));
});
