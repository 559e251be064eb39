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

  // The results shown are those of this text (the partial says which text it answers):
  // results of an earlier, shorter text may still be on screen while the box is typed on.
  function resultsAnswer(query) {
    var answer = document.querySelector("#desk-search-results [data-query]");
    return answer !== null && answer.getAttribute("data-query") === query;
  }

  // Enter in the search box opens the first result of what is typed now. Typed (or scanned)
  // faster than the box searches as it goes, the results are asked for first, then opened.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "desk-search-form") return;
    var input = document.getElementById("desk-search");
    var query = input.value.trim();
    var links = resultLinks();
    if (links.length && resultsAnswer(query)) {
      event.preventDefault();
      window.location.href = links[0].href;
      return;
    }
    if (!query || !window.fetch) return; // the full search page
    event.preventDefault();
    var url = form.action + "?" + new URLSearchParams({ q: query }).toString();
    fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        if (input.value.trim() !== query) return; // typed on since: that search answers
        document.getElementById("desk-search-results").innerHTML = html;
        var fresh = resultLinks();
        if (fresh.length && resultsAnswer(query)) window.location.href = fresh[0].href;
      })
      .catch(function () {
        form.submit();
      });
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
