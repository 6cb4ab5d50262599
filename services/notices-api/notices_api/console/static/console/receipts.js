// Swaps in the receipts table every 2.5 s while the page is visible; without script, reload.
(function () {
  const box = document.getElementById("receipts");
  if (!box) return;
  const PERIOD_MS = 2500;
  async function refresh() {
    if (!document.hidden) {
      try {
        const response = await fetch(box.dataset.refreshUrl, { credentials: "same-origin" });
        // Redirected: the session ended; the whole page goes to sign-in instead.
        if (response.redirected) return window.location.reload();
        if (response.ok) box.innerHTML = await response.text();
      } catch (error) {
        // Offline for a moment: the next round tries again.
      }
    }
    setTimeout(refresh, PERIOD_MS);
  }
  setTimeout(refresh, PERIOD_MS);
})();
