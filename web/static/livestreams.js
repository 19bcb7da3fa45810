// The livestreams page: start one (with the shop's products), stop one.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("start-live")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = new FormData(event.target).get("livestream_id").trim();
    try {
      await api("POST", "/livestreams", { livestream_id: id });
      location.href = "/live/" + encodeURIComponent(id);
    } catch (error) {
      toast(error.message, "error");
    }
  });
  document.querySelectorAll(".stop-live").forEach((button) =>
    button.addEventListener("click", async () => {
      if (!confirm(T("stop") + " " + button.dataset.live + "?")) return;
      try {
        await api("POST", `/livestreams/${encodeURIComponent(button.dataset.live)}/stop`);
        location.reload();
      } catch (error) {
        toast(error.message, "error");
      }
    }),
  );
});
