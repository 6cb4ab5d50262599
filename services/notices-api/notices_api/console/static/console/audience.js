// Shows how many people the ticked groups and people resolve to, as they are ticked.
(function () {
  const section = document.querySelector(".audience[data-count-url]");
  if (!section) return;
  const output = section.querySelector(".audience-count");
  let pending = null;
  async function refresh() {
    const params = new URLSearchParams();
    for (const box of section.querySelectorAll("input[type=checkbox]:checked")) {
      params.append(box.name, box.value);
    }
    const response = await fetch(section.dataset.countUrl + "?" + params, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
    });
    if (response.ok && !response.redirected) output.innerHTML = await response.text();
  }
  section.addEventListener("change", function () {
    clearTimeout(pending);
    pending = setTimeout(refresh, 150);
  });
  refresh();
})();
