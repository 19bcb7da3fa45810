// Shared by every page: the boot data, words, calls to the API, toasts, the language switch.
"use strict";
const BOOT = JSON.parse(document.getElementById("boot")?.textContent || "{}");
const T = (key) => (BOOT.strings && BOOT.strings[key]) || key;

const esc = (value) =>
  String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const vnd = (amount) => (amount == null ? "" : Number(amount).toLocaleString("vi-VN").replace(/,/g, ".") + "đ");

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.reasons && body.reasons[0] && body.reasons[0][BOOT.lang === "en" ? "en" : "vi"]) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.reasons = (body && body.reasons) || [];
  }
}

// A call to the API with the session's CSRF token; the JSON answer, or an ApiError.
async function api(method, path, body, headers = {}) {
  const options = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (method !== "GET") options.headers["X-CSRF-Token"] = BOOT.csrf || "";
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch("/api/v1" + path, options);
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new ApiError(401, {});
  }
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const reasonText = (reason) => (BOOT.lang === "en" ? reason.en : reason.vi);

function toast(text, kind = "ok") {
  const box = document.createElement("div");
  box.className = "toast " + kind;
  box.textContent = text;
  document.getElementById("toasts").appendChild(box);
  setTimeout(() => box.remove(), kind === "error" ? 6000 : 2500);
}

const may = (action) => (BOOT.me?.may || []).includes(action);
const statusInfo = (key) => (BOOT.statuses || []).find((s) => s.key === key) || { key, name: key, color: "#9e9e9e", to: [] };

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("lang-switch")?.addEventListener("click", (event) => {
    document.cookie = `lang=${event.target.dataset.lang}; path=/; max-age=31536000; samesite=lax`;
    location.reload();
  });
});
