// Language choice before login: store Django's language cookie and reload the page.
(function () {
  "use strict";
  var script = document.currentScript;
  var cookie = (script && script.dataset.cookie) || "django_language";
  document.querySelectorAll(".lang-links [data-lang]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.cookie = cookie + "=" + encodeURIComponent(button.dataset.lang) +
        "; path=/; max-age=31536000; SameSite=Lax";
      // A GET of the same address: reloading would send a failed login's POST again.
      window.location.assign(window.location.pathname + window.location.search);
    });
  });
})();
