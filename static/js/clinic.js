/* Clinic Flow: small keyboard and print helpers. No inline scripts: pages declare behaviour
   with data attributes and this file attaches it. */
(function () {
  "use strict";

  function isTyping(element) {
    return element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  function resultLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#desk-search-results a"));
  }

  document.addEventListener("keydown", function (event) {
    var search = document.getElementById("desk-search");
    // "/" jumps to the desk's search box from anywhere on the page.
    if (event.key === "/" && search && !isTyping(document.activeElement)) {
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }
    if (!search) return;
    var links = resultLinks();
    var index = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && (document.activeElement === search || index >= 0)) {
      if (links.length) {
        event.preventDefault();
        links[Math.min(index + 1, links.length - 1)].focus();
      }
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) search.focus(); else links[index - 1].focus();
    } else if (event.key === "Escape" && (document.activeElement === search || index >= 0)) {
      document.getElementById("desk-search-results").innerHTML = "";
      search.focus();
    }
  });

  // Enter in the search box opens the first result when results are shown.
  document.addEventListener("submit", function (event) {
    if (event.target.id === "desk-search-form") {
      var links = resultLinks();
      if (links.length) {
        event.preventDefault();
        window.location.href = links[0].href;
      }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
      // The printout is done (print() returns when its dialog closes): the hand goes on to
      // what comes next, the desk's search box for the next patient.
      var next = button.getAttribute("data-then-focus");
      var target = next && document.querySelector(next);
      if (target) target.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // Pages may put the focus on their main button (print the slip, right after a check-in).
    var focus = document.querySelector("[data-autofocus]");
    if (focus) focus.focus();
    // A field sent back with an error keeps the cursor, its text selected: typing replaces it.
    var invalid = document.querySelector("input[autofocus][aria-invalid=true]");
    if (invalid) {
      invalid.focus();
      invalid.select();
    }
  });
})();
