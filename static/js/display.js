// Waiting-room display (templates/display/department.html).
// htmx keeps the last board on screen when a poll fails (it swaps nothing on a network error,
// a timeout or an error status); this marks the page as reconnecting until a poll succeeds.
(function () {
  "use strict";

  function setReconnecting(on) {
    document.body.classList.toggle("is-reconnecting", on);
  }

  ["htmx:sendError", "htmx:timeout", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, function () {
      setReconnecting(true);
    });
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.successful) {
      setReconnecting(false);
    }
  });
})();
