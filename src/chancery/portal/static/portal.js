// Chancery portal: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // "Copy" buttons next to the request ID and the pickup token.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    });
  });

  // Refuse an oversized CSR file before uploading it (the server refuses it too).
  document.querySelectorAll("form[data-max-upload]").forEach(function (form) {
    var limit = parseInt(form.getAttribute("data-max-upload"), 10);
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (input && input.files.length && input.files[0].size > limit) {
        event.preventDefault();
        input.setCustomValidity("The file is larger than " + Math.round(limit / 1024) + " KiB.");
        input.reportValidity();
      }
    });
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      input.addEventListener("change", function () { input.setCustomValidity(""); });
    });
  });

  // A notice (?notice=...) is said once: a reload or a bookmark does not repeat it.
  if (window.history.replaceState && /[?&]notice=/.test(window.location.search)) {
    var url = new URL(window.location.href);
    url.searchParams.delete("notice");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  // Move focus to the error summary so keyboard and screen-reader users hear it first.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
