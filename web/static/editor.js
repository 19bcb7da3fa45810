// The draft editor: one draft (a livestream's or a chat's), every staff command on it, and
// the refusal reasons shown on the fields they name. Shared by the board and the chat page.
"use strict";

const FINALISE_ACTIONS = ["create", "deliver_now", "send_to_store", "save", "cancel"];
const LINE_CLASS = { unknown_code: "warn", needs_variant: "info", custom: "custom", matched: "" };

class DraftEditor {
  // options: path (draft) -> the draft's command path under /api/v1; title (draft) -> text;
  // products: [{code, name, price, attributes}]; onUpdated (draft); onClose ()
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.draft = null;
    this.dirty = false;
    root.addEventListener("submit", (event) => this.submit(event));
    root.addEventListener("click", (event) => this.click(event));
    root.addEventListener("input", (event) => {
      if (event.target.closest("form.customer")) this.dirty = true;
    });
    root.addEventListener("change", (event) => this.change(event));
  }

  get open() {
    return !this.root.hidden && this.draft !== null;
  }

  show(draft) {
    this.draft = draft;
    this.dirty = false;
    this.root.hidden = false;
    this.render();
    this.root.querySelector("input[name=name]")?.focus({ preventScroll: true });
  }

  close() {
    this.root.hidden = true;
    this.draft = null;
    this.options.onClose?.();
  }

  // A newer state of the same draft (a comment, another staff member): kept in view; a form
  // being typed in keeps what was typed, and says the draft changed.
  update(draft) {
    if (!this.open || this.key(draft) !== this.key(this.draft)) return;
    if (draft.version === this.draft.version) return;
    const typing = this.dirty ? this.formValues(this.root.querySelector("form.customer")) : null;
    this.draft = draft;
    this.render();
    if (typing) {
      for (const [name, value] of Object.entries(typing)) {
        const input = this.root.querySelector(`form.customer [name="${name}"]`);
        if (input) input.value = value;
      }
      this.dirty = true;
      this.notice(T("changed"), "info");
    }
  }

  key(draft) {
    return draft.seq ?? draft.conversation_id;
  }

  render() {
    const d = this.draft;
    const editable = d.status === "open" && may("edit_drafts");
    const contact = d.contact || {};
    const customer = d.customer || {};
    const value = (field) => esc(contact[field] ?? (field === "name" || field === "phone" ? customer[field] : "") ?? "");
    const warnings = (d.warnings || []).map((w) => `<span class="badge bad">${esc(BOOT.lang === "en" ? w.en : w.vi)}</span>`).join(" ");
    const provinces = (this.options.provinces || []).map((p) => `<option value="${esc(p)}">`).join("");
    this.root.innerHTML = `
      <div class="editor-head">
        <h2>${esc(this.options.title(d))}</h2>
        <span class="badge status-${esc(d.status)}">${esc(T(d.status))}${d.order_id ? " · " + esc(d.order_id) : ""}</span>
        <button type="button" class="link close" data-do="close" title="Esc">✕</button>
      </div>
      ${warnings ? `<p class="warnings">${warnings}</p>` : ""}
      <div class="notice" hidden></div>
      <ul class="reasons" hidden></ul>
      <form class="customer" data-action="set-customer">
        <fieldset ${editable ? "" : "disabled"}>
          <legend>${esc(T("customer"))} <span class="muted">${esc(customer.platform || "")} ${esc(customer.user_id || "")}</span></legend>
          <div class="two">
            ${this.field("name", T("name"), value("name"))}
            ${this.field("phone", T("phone"), value("phone"), "tel")}
          </div>
          ${this.field("address", T("address"), value("address"))}
          <div class="two">
            ${this.field("ward", T("ward"), value("ward"))}
            ${this.field("province", T("province"), value("province"), "text", "provinces")}
          </div>
          ${this.field("note", T("note"), value("note"))}
          <datalist id="provinces">${provinces}</datalist>
          <button type="submit">${esc(T("save_customer"))}</button>
        </fieldset>
      </form>
      <section class="lines">
        <h3>${esc(T("lines"))} <span class="muted">${esc(T("total"))}: <b>${vnd(d.total)}</b></span></h3>
        <ol>${(d.lines || []).map((line, i) => this.lineRow(line, i + 1, editable)).join("") || `<li class="muted">${esc(T("none"))}</li>`}</ol>
        <div class="field-error" data-error="lines"></div>
      </section>
      ${editable ? this.addForms() : ""}
      ${editable ? this.finaliseBar() : ""}`;
  }

  field(name, label, value, type = "text", list = "") {
    return `<label class="field" data-field="${name}">${esc(label)}
      <input name="${name}" type="${type}" value="${value}" ${list ? `list="${list}"` : ""} autocomplete="off">
      <span class="field-error" data-error="${name}"></span></label>`;
  }

  product(code) {
    return (this.options.products || []).find((p) => p.code === code);
  }

  attributeSelects(product, chosen = {}, onlyMissing = false) {
    if (!product) return "";
    return Object.entries(product.attributes || {})
      .filter(([name]) => !onlyMissing || !chosen[name])
      .map(([name, values]) => `<select name="attr:${esc(name)}" aria-label="${esc(name)}">
          <option value="">${esc(name)}</option>
          ${values.map((v) => `<option ${chosen[name] === v ? "selected" : ""}>${esc(v)}</option>`).join("")}
        </select>`)
      .join("");
  }

  productOptions() {
    return (this.options.products || []).map((p) => `<option value="${esc(p.code)}">${esc(p.code)} · ${esc(p.name)} · ${vnd(p.price)}</option>`).join("");
  }

  lineRow(line, n, editable) {
    const attrs = Object.values(line.attributes || {}).join(" ");
    const chips = [];
    if (line.status === "unknown_code") chips.push(`<span class="chip warn">${esc(T("unknown_code"))}</span>`);
    if (line.status === "needs_variant") chips.push(`<span class="chip info">${esc(T("needs_variant"))}</span>`);
    if (line.waitlist != null) chips.push(`<span class="chip wait">${esc(T("waitlist"))} #${line.waitlist} · ${esc(T("held"))} ${line.reserved}/${line.qty}</span>`);
    let fix = "";
    if (editable && line.status === "unknown_code") {
      fix = `<form class="fix" data-action="pick-product" data-line="${n}">
          <select name="code" required><option value="">${esc(T("repick"))}…</option>${this.productOptions()}</select>
          <span class="attrs"></span><button type="submit">${esc(T("repick"))}</button></form>`;
    } else if (editable && line.status === "needs_variant") {
      fix = `<form class="fix" data-action="choose-variant" data-line="${n}">
          ${this.attributeSelects(this.product(line.code), line.attributes, true)}
          <button type="submit">${esc(T("choose_variant"))}</button></form>`;
    }
    const qty = editable
      ? `<input class="qty" type="number" min="1" value="${line.qty}" data-line="${n}" aria-label="${esc(T("qty"))}">`
      : `×${line.qty}`;
    return `<li class="line ${LINE_CLASS[line.status] || ""}" data-field="lines.${n}">
        <div class="line-main">
          <b>${esc(line.code || "")}</b> ${esc(line.name || "?")} <span class="muted">${esc(attrs)}</span>
          ${chips.join(" ")}
          <span class="spacer"></span>
          ${qty}
          <span class="amount">${vnd((line.unit_price || 0) * line.reserved)}</span>
          ${editable ? `<button type="button" class="link danger" data-do="remove-line" data-line="${n}" title="${esc(T("remove"))}">✕</button>` : ""}
        </div>
        ${fix}
        <div class="field-error" data-error="lines.${n}"></div>
      </li>`;
  }

  addForms() {
    const staff = (BOOT.staff || []).map((p) => `<option value="${esc(p.id)}" ${this.draft.staff === p.id ? "selected" : ""}>${esc(p.name)}</option>`).join("");
    return `<section class="adds">
      <form class="row" data-action="add-line">
        <select name="code" required><option value="">${esc(T("add_line"))}…</option>${this.productOptions()}</select>
        <span class="attrs"></span>
        <input name="qty" type="number" min="1" value="1" aria-label="${esc(T("qty"))}">
        <button type="submit">${esc(T("add"))}</button>
      </form>
      <form class="row" data-action="add-custom">
        <input name="name" placeholder="${esc(T("add_custom"))}" required>
        <input name="price" type="number" min="0" step="1000" placeholder="${esc(T("price"))}" required>
        <input name="qty" type="number" min="1" value="1" aria-label="${esc(T("qty"))}">
        <button type="submit">${esc(T("add"))}</button>
      </form>
      ${staff ? `<form class="row" data-action="assign">
        <label>${esc(T("assign"))} <select name="assignee" required><option value=""></option>${staff}</select></label>
        <button type="submit">${esc(T("assign"))}</button></form>` : ""}
      <div class="field-error" data-error="code"></div><div class="field-error" data-error="attributes"></div>
    </section>`;
  }

  finaliseBar() {
    return `<div class="finalise">${FINALISE_ACTIONS.map(
      (action) => `<button type="button" class="${action === "create" ? "primary" : action === "cancel" ? "danger" : ""}" data-finalise="${action}" ${action === "create" ? 'title="Ctrl+Enter"' : ""}>${esc(T(action))}</button>`,
    ).join("")}</div>`;
  }

  formValues(form) {
    const values = {};
    for (const [name, value] of new FormData(form).entries()) values[name] = value;
    return values;
  }

  change(event) {
    const select = event.target;
    if (select.name === "code" && select.closest("form")) {
      const holder = select.closest("form").querySelector(".attrs");
      if (holder) holder.innerHTML = this.attributeSelects(this.product(select.value));
    }
    if (select.classList.contains("qty") && select.value) {
      this.send("set-quantity", { line: Number(select.dataset.line), qty: Number(select.value) });
    }
  }

  click(event) {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.do === "close") this.close();
    if (button.dataset.do === "remove-line") this.send("remove-line", { line: Number(button.dataset.line) });
    if (button.dataset.finalise) this.finalise(button.dataset.finalise);
  }

  finalise(action) {
    if (action === "cancel" && !confirm(T("cancel") + "?")) return;
    this.send("finalise", { action });
  }

  submit(event) {
    const form = event.target.closest("form");
    if (!form?.dataset.action) return;
    event.preventDefault();
    const values = this.formValues(form);
    const attributes = {};
    for (const [name, value] of Object.entries(values)) {
      if (name.startsWith("attr:") && value) attributes[name.slice(5)] = value;
    }
    const line = form.dataset.line ? Number(form.dataset.line) : undefined;
    const bodies = {
      "set-customer": () => {
        const body = {};
        for (const name of ["name", "phone", "address", "ward", "province", "note"]) {
          if (values[name] && values[name].trim()) body[name] = values[name].trim();
        }
        return body;
      },
      "pick-product": () => ({ line, code: values.code, attributes }),
      "choose-variant": () => ({ line, attributes }),
      "add-line": () => ({ code: values.code, attributes, qty: Number(values.qty || 1) }),
      "add-custom": () => ({ name: values.name, price: Number(values.price), qty: Number(values.qty || 1) }),
      assign: () => ({ assignee: values.assignee }),
    };
    this.send(form.dataset.action, bodies[form.dataset.action]());
  }

  async send(action, body) {
    const draft = this.draft;
    this.clearErrors();
    try {
      const result = await api("POST", this.options.path(draft) + "/" + action, { ...body, expect_version: draft.version });
      if (action === "set-customer") this.dirty = false;
      this.draft = result.draft || draft;
      this.render();
      this.options.onUpdated?.(this.draft, result);
      toast(T("applied"));
      return result;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.body.draft) {
        const typing = action === "set-customer" ? body : null;
        this.draft = error.body.draft;
        this.render();
        if (typing) for (const [k, v] of Object.entries(typing)) {
          const input = this.root.querySelector(`form.customer [name="${k}"]`);
          if (input) input.value = v;
        }
        this.options.onUpdated?.(this.draft);
      }
      this.showErrors(error.reasons, error.status === 409);
      toast(error.message, "error");
      return null;
    }
  }

  clearErrors() {
    this.root.querySelectorAll(".field-error").forEach((el) => (el.textContent = ""));
    this.root.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
    const list = this.root.querySelector(".reasons");
    if (list) list.hidden = true;
    const notice = this.root.querySelector(".notice");
    if (notice) notice.hidden = true;
  }

  // Each reason on the field it names (lines.2 on line 2); the others listed at the top.
  showErrors(reasons, changed) {
    const general = [];
    for (const reason of reasons) {
      const slot = reason.field && this.root.querySelector(`[data-error="${CSS.escape(reason.field)}"]`);
      if (slot) {
        slot.textContent += (slot.textContent ? " · " : "") + reasonText(reason);
        slot.closest("[data-field]")?.classList.add("has-error");
      } else {
        general.push(reason);
      }
    }
    const list = this.root.querySelector(".reasons");
    if (list && general.length) {
      list.innerHTML = general.map((r) => `<li data-code="${esc(r.code)}">${esc(reasonText(r))}</li>`).join("");
      list.hidden = false;
    }
    if (changed) this.notice(T("changed"), "info");
  }

  notice(text, kind) {
    const box = this.root.querySelector(".notice");
    if (!box) return;
    box.textContent = text;
    box.className = "notice " + kind;
    box.hidden = false;
  }
}
