/* The header's menu button on narrow screens: it opens and closes the menu it controls
   (aria-expanded says which); Escape closes it and gives the focus back to the button.
   Without JavaScript, css/no-script.css keeps the menu open and the button hidden. */
(function () {
  "use strict";

  function setOpen(button, open) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("is-open", open);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".menu-button");
    if (!button) return;
    setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var button = document.querySelector('.menu-button[aria-expanded="true"]');
    if (!button) return;
    setOpen(button, false);
    button.focus();
  });
})();
