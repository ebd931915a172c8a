(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function (event) {
    root.setAttribute("data-js-error", String(event.message || "error"));
  });
  var form = document.getElementById("filters");
  var targets = Array.prototype.slice.call(document.querySelectorAll("[data-filter-item]"));
  var count = document.getElementById("filter-count");
  function has(list, token) {
    return (" " + (list || "") + " ").indexOf(" " + token + " ") !== -1;
  }
  function matches(el, region, verdict, rule) {
    if (region && !has(el.getAttribute("data-regions"), region)) { return false; }
    if (verdict) {
      var ok = region ? has(el.getAttribute("data-rv"), region + ":" + verdict)
                      : el.getAttribute("data-verdict") === verdict;
      if (!ok) { return false; }
    }
    return !rule || has(el.getAttribute("data-rules"), rule);
  }
  function apply() {
    var region = form.elements.region.value;
    var verdict = form.elements.verdict.value;
    var rule = form.elements.rule.value;
    var shown = 0;
    var total = 0;
    targets.forEach(function (el) {
      var ok = matches(el, region, verdict, rule);
      el.hidden = !ok;
      if (el.tagName === "TR") {
        total += 1;
        if (ok) { shown += 1; }
      }
    });
    count.textContent = shown + " of " + total + " items shown";
  }
  // A link such as report.html?region=GB&verdict=fail opens with those filters set.
  var query = new URLSearchParams(window.location.search);
  ["region", "verdict", "rule"].forEach(function (name) {
    var select = form.elements[name];
    var wanted = query.get(name);
    if (wanted && Array.prototype.some.call(select.options, function (o) { return o.value === wanted; })) {
      select.value = wanted;
    }
  });
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
  root.setAttribute("data-js", "ready");
}());
