// Small enhancements; every page works without them.
(function () {
  "use strict";
  // An invitation link carries its token in the fragment (#token=...), which
  // never reaches the server: copy it into the form's field.
  var match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  var field = document.querySelector("[data-from-fragment=token]");
  if (match && field) {
    field.value = decodeURIComponent(match[1]);
    history.replaceState(null, "", window.location.pathname);
  }
  // "Copy" buttons next to values shown once (calendar address, SCIM token).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        button.textContent = "✓ " + label;
      });
    });
  });
  // After a refused form, the error summary takes the focus (GOV.UK pattern).
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
})();
