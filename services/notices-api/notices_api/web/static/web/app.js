// Keeps the unread badge current from the server-sent events stream; the page works without it.
(function () {
  var badge = document.getElementById("unread-badge");
  if (!badge || !window.EventSource) return;
  var source = new EventSource(badge.dataset.stream);
  source.addEventListener("unread", function (event) {
    badge.textContent = event.data;
  });
})();
