// The nav's unread badge, kept current by the server-sent events of /events/unread/.
// Without JavaScript the badge shows the count of the page load.
(function () {
  "use strict";
  var badge = document.querySelector("[data-unread-badge]");
  var script = document.currentScript || document.querySelector("script[data-events-url]");
  if (!badge || !script || !window.EventSource) return;
  var source = new EventSource(script.dataset.eventsUrl);
  source.addEventListener("unread", function (event) {
    badge.textContent = event.data === "0" ? "" : event.data;
    badge.dataset.count = event.data;
  });
})();
